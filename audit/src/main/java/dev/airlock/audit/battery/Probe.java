package dev.airlock.audit.battery;

import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One adversarial check, run inside the sandbox as the sandbox user.
 *
 * @param id       stable across runs (history compares by it): {@code [a-z0-9][a-z0-9._:-]*}
 * @param category one of {@link Battery#CATEGORIES}
 * @param target   what it aims at, for the table
 * @param expect   what must happen
 * @param expected the same in words, for the report
 * @param script   bash that sources lib.sh and ends with a helper's {@code @result} line
 * @param control  the local target whose reachability without Airlock the audit proves first
 * @param witness  besides the control, what shows that a block blocked something (docs/audit.md, "Evidence")
 */
record Probe(String id, String category, String target, Expect expect, String expected, String script,
        Optional<LocalTarget> control, Witness witness) {

    /** What, other than a positive control, makes a "blocked" outcome count. */
    public sealed interface Witness {
    }

    /** Nothing: the gateway never sees this probe, so without a control its block is inconclusive. */
    public record NoWitness() implements Witness {
    }

    /** The probe looks at the sandbox itself (its own addresses): what it sees is the evidence, there is no target to be absent. */
    public record Inside() implements Witness {
    }

    /**
     * The connection as the gateway records it: any of {@code names} (the name or address asked
     * for; the DNS responder records the name with no port) and the port.
     */
    public record Gate(Set<String> names, int port) implements Witness {
        public Gate {
            names = names.stream().map(Gate::canonical).collect(java.util.stream.Collectors.toUnmodifiableSet());
        }

        public static Gate of(String name, int port) {
            return new Gate(Set.of(name), port);
        }

        /** True for a record of this connection: the same name (brackets, case and a final dot aside), and the port or none (DNS). */
        public boolean names(Evidence e) {
            return names.contains(canonical(e.name())) && (e.port() <= 0 || e.port() == port);
        }

        private static String canonical(String name) {
            String n = name == null ? "" : name.strip().toLowerCase(java.util.Locale.ROOT);
            if (n.startsWith("[") && n.endsWith("]")) {
                n = n.substring(1, n.length() - 1);
            }
            return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
        }
    }

    /** A probe the gateway does not decide: a command, a file, or one judged by its control alone. */
    public Probe(String id, String category, String target, Expect expect, String expected, String script, Optional<LocalTarget> control) {
        this(id, category, target, expect, expected, script, control, new NoWitness());
    }

    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9._:@\\[\\]-]{0,160}");

    public Probe {
        Objects.requireNonNull(expect, "expect");
        Objects.requireNonNull(witness, "witness");
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("probe id '" + id + "' is not [a-z0-9][a-z0-9._:@[]-]*");
        }
    }
}
