package dev.airlock.policy.name;

/**
 * A name rule: one exact name, or every strict subdomain of a name ({@code *.x} does not cover
 * {@code x} itself).
 */
public sealed interface NamePattern permits NamePattern.Exact, NamePattern.Subdomains {

    /** The canonical name the pattern is anchored at. */
    String name();

    boolean matches(String canonicalName);

    /** True when every name this pattern matches is also matched by {@code other}. */
    boolean isCoveredBy(NamePattern other);

    /** True when at least one name is matched by both. */
    boolean overlaps(NamePattern other);

    record Exact(String name) implements NamePattern {
        @Override
        public boolean matches(String n) {
            return name.equals(n);
        }

        @Override
        public boolean isCoveredBy(NamePattern other) {
            return other.matches(name);
        }

        @Override
        public boolean overlaps(NamePattern other) {
            return other.matches(name);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    record Subdomains(String name) implements NamePattern {
        @Override
        public boolean matches(String n) {
            return HostNames.isStrictSubdomain(n, name);
        }

        @Override
        public boolean isCoveredBy(NamePattern other) {
            return other instanceof Subdomains s && HostNames.isSameOrSubdomain(name, s.name);
        }

        @Override
        public boolean overlaps(NamePattern other) {
            return switch (other) {
                case Exact e -> matches(e.name);
                case Subdomains s -> HostNames.isSameOrSubdomain(name, s.name)
                        || HostNames.isSameOrSubdomain(s.name, name);
            };
        }

        @Override
        public String toString() {
            return "*." + name;
        }
    }
}
