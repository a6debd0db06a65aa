package dev.airlock.policy.model;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A registry image reference, {@code [HOST[:PORT]/]NAME[:TAG][@sha256:HEX]}, in the grammar of the
 * distribution project's reference package (lower-case path components, a host being the first
 * component when it has a '.' or a ':' or is {@code localhost}). {@code host} is empty for a short
 * name such as {@code node:20}, which skopeo resolves to Docker Hub.
 */
public record ImageReference(Optional<String> host, String name, Optional<String> tag, Optional<String> digest) {

    private static final String COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
    private static final String HOST = "(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
            + "|\\[[0-9A-Fa-f:]+\\])(?::[0-9]{1,5})?";
    private static final Pattern SHAPE = Pattern.compile("(?:(" + HOST + ")/)?(" + COMPONENT + "(?:/" + COMPONENT + ")*)"
            + "(?::([A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?");

    /** The reference {@code text} names, or empty when it is not one. */
    public static Optional<ImageReference> parse(String text) {
        Matcher m = SHAPE.matcher(text);
        if (!m.matches()) {
            return Optional.empty();
        }
        String host = m.group(1);
        String name = m.group(2);
        // "team/devbox": the first component is a path, not a host, unless it looks like one (distribution's rule)
        if (host != null && !host.contains(".") && !host.contains(":") && !host.equals("localhost")) {
            name = host + "/" + name;
            host = null;
            if (!name.matches(COMPONENT + "(?:/" + COMPONENT + ")*")) {
                return Optional.empty();
            }
        }
        return Optional.of(new ImageReference(Optional.ofNullable(host), name, Optional.ofNullable(m.group(3)), Optional.ofNullable(m.group(4))));
    }

    /**
     * Whether the registry is on this machine's loopback: {@code localhost}, {@code 127.x.y.z} or
     * {@code [::1]}, with any port. Only such a registry may be pulled from without TLS.
     */
    public boolean loopback() {
        if (host.isEmpty()) {
            return false;
        }
        String h = host.get();
        String bare = h.startsWith("[") ? h.substring(0, h.indexOf(']') + 1) : h.replaceFirst(":[0-9]+$", "");
        return bare.equals("localhost") || bare.equals("[::1]")
                || bare.matches("127\\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])");
    }
}
