package dev.airlock.gateway.resolve;

import dev.airlock.policy.address.IpAddress;
import java.time.Duration;
import java.util.List;

/** What resolving one name produced: addresses, or a failure the gateway denies as dns-failure. */
public sealed interface Resolution permits Resolution.Answer, Resolution.Failure {

    /**
     * @param addresses every A and AAAA answer, in the order received
     * @param aliases   the CNAME chain from the queried name to the final one, excluding the query
     * @param ttl       the smallest TTL among the records used
     */
    record Answer(List<IpAddress> addresses, List<String> aliases, Duration ttl) implements Resolution {
        public Answer {
            addresses = List.copyOf(addresses);
            aliases = List.copyOf(aliases);
        }
    }

    record Failure(Kind kind, String detail) implements Resolution {
    }

    enum Kind {
        NXDOMAIN("no such name"),
        NO_ADDRESS("the name has no A or AAAA record"),
        SERVFAIL("the resolver failed"),
        TIMEOUT("the resolver did not answer in time"),
        TOO_LARGE("the answer is larger than Airlock accepts"),
        ERROR("resolution failed");

        public final String description;

        Kind(String description) {
            this.description = description;
        }
    }
}
