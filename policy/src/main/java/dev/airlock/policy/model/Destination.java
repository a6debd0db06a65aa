package dev.airlock.policy.model;

import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.name.NamePattern;

/** What a rule names: host names, or addresses. */
public sealed interface Destination permits Destination.Names, Destination.Addresses {

    record Names(NamePattern pattern) implements Destination {
        @Override
        public String toString() {
            return pattern.toString();
        }
    }

    record Addresses(Cidr cidr) implements Destination {
        @Override
        public String toString() {
            return cidr.toString();
        }
    }
}
