package dev.airlock.policy.model;

/**
 * One rule as written, with where it was written. {@code source} says which section or preset it
 * came from, for messages such as "preset github 2026.11 (airlock.yaml:4:14)".
 */
public record Rule(Kind kind, Destination destination, PortSet ports, SourcePosition position, String source) {

    public enum Kind {
        ALLOW("allow"), DENY("deny"), PRODUCTION("production");

        public final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    /** Short human form: {@code github.com:80,443} or {@code 10.20.0.0/16}. */
    public String describe() {
        return ports.isAny() ? destination.toString() : destination + ":" + ports;
    }

    /** {@code github.com:80,443 (airlock.yaml:7:7, network.allow)}. */
    @Override
    public String toString() {
        return describe() + " (" + position + ", " + source + ")";
    }
}
