package dev.airlock.policy.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The TCP ports a rule applies to: a small sorted list, or every port. */
public final class PortSet {

    /** Ports an allow rule gets when it names none: plain and TLS web traffic. */
    public static final PortSet WEB = of(80, 443);
    /** Deny and production rules apply to every port unless ports are given. */
    public static final PortSet ANY = new PortSet(new int[0], true);

    private final int[] ports;
    private final boolean any;
    /** Built once: rule text appears in every decision's detail. */
    private final String text;

    private PortSet(int[] ports, boolean any) {
        this.ports = ports;
        this.any = any;
        this.text = any ? "any" : Arrays.stream(ports).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    public static PortSet of(int... ports) {
        int[] sorted = Arrays.stream(ports).distinct().sorted().toArray();
        for (int p : sorted) {
            if (p < 1 || p > 65535) {
                throw new IllegalArgumentException("port out of range: " + p);
            }
        }
        if (sorted.length == 0) {
            throw new IllegalArgumentException("empty port set");
        }
        return new PortSet(sorted, false);
    }

    public boolean contains(int port) {
        return any || Arrays.binarySearch(ports, port) >= 0;
    }

    public boolean isAny() {
        return any;
    }

    public int[] ports() {
        return ports.clone();
    }

    public boolean overlaps(PortSet other) {
        if (any || other.any) {
            return true;
        }
        for (int p : ports) {
            if (other.contains(p)) {
                return true;
            }
        }
        return false;
    }

    /** True when every port of {@code other} is in this set. */
    public boolean covers(PortSet other) {
        if (any) {
            return true;
        }
        if (other.any) {
            return false;
        }
        for (int p : other.ports) {
            if (!contains(p)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PortSet p && p.any == any && Arrays.equals(p.ports, ports);
    }

    @Override
    public int hashCode() {
        return any ? -1 : Arrays.hashCode(ports);
    }

    @Override
    public String toString() {
        return text;
    }
}
