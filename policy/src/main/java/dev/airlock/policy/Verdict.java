package dev.airlock.policy;

/** The outcome of a decision. There is no third value: whatever is not allowed is denied. */
public enum Verdict {
    DENY, ALLOW
}
