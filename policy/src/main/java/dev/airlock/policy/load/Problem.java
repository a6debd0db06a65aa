package dev.airlock.policy.load;

import dev.airlock.policy.model.SourcePosition;

/** One thing wrong with a policy file: where, what, and how to fix it. */
public record Problem(SourcePosition position, String message, String fix) {

    /** {@code airlock.yaml:7:7: message; fix: ...} — the format editors and CI annotate. */
    @Override
    public String toString() {
        return position + ": " + message + (fix == null || fix.isEmpty() ? "" : "; fix: " + fix);
    }
}
