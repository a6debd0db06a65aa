package dev.airlock.audit.battery;

import java.util.Optional;

/** What a probe says it saw, the first word of its {@code @result} line (lib.sh): a closed set. */
enum Observed {
    /** The target answered: a byte, a datagram, an HTTP response, a DNS answer, a file. */
    REACHED("reached"),
    /** The target did not answer. */
    BLOCKED("blocked"),
    /** A privileged command worked. */
    SUCCEEDED("succeeded"),
    /** A privileged command failed. */
    FAILED("failed"),
    /** The probe could not do its check (a missing tool, a setup step that failed). */
    CANNOT_RUN("cannot-run");

    /** The word as the probe prints it. */
    public final String code;

    Observed(String code) {
        this.code = code;
    }

    static Optional<Observed> fromCode(String code) {
        for (Observed o : values()) {
            if (o.code.equals(code)) {
                return Optional.of(o);
            }
        }
        return Optional.empty();
    }
}
