package dev.airlock.gateway.audit;

import dev.airlock.policy.Reason;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code reason} field of a record read back from the log: one of this version's {@link Reason}s,
 * or a code this version does not know.
 *
 * <p>Why not just {@link Reason}: the log outlives the code that wrote it. A reason retired or renamed
 * later, or added by a newer Airlock that wrote the same file, must not make {@code airlock log verify}
 * call an intact chain broken, nor hide the record from {@code airlock log}. So an unknown code is kept
 * exactly as written: the record re-encodes to the same bytes (the hash still matches) and displays as
 * it was logged. The writer only ever writes {@link Known}.
 */
public sealed interface RecordedReason permits RecordedReason.Known, RecordedReason.Unknown {

    /** The code as written in the log. */
    String code();

    /** The reason, if this version knows the code. */
    Optional<Reason> known();

    /** The reason this version knows by {@code code}, else the code kept as it is. */
    static RecordedReason of(String code) {
        return Reason.fromCode(code).<RecordedReason>map(Known::new).orElseGet(() -> new Unknown(code));
    }

    /** One of this version's reasons, as the writer records it. */
    static RecordedReason of(Reason reason) {
        return new Known(reason);
    }

    /** Whether this is {@code reason}; an unknown code is none of this version's reasons. */
    default boolean is(Reason reason) {
        return known().filter(reason::equals).isPresent();
    }

    record Known(Reason reason) implements RecordedReason {
        public Known {
            Objects.requireNonNull(reason, "reason");
        }

        @Override
        public String code() {
            return reason.code;
        }

        @Override
        public Optional<Reason> known() {
            return Optional.of(reason);
        }

        @Override
        public String toString() {
            return reason.code;
        }
    }

    /** @param code printable ASCII (the reader refuses anything else), not one of {@link Reason}'s codes */
    record Unknown(String code) implements RecordedReason {
        public Unknown {
            Objects.requireNonNull(code, "code");
        }

        @Override
        public Optional<Reason> known() {
            return Optional.empty();
        }

        @Override
        public String toString() {
            return code;
        }
    }
}
