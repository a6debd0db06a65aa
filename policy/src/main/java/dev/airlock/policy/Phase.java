package dev.airlock.policy;

/** When a policy applies: normal agent work, or the template's setup commands. */
public enum Phase {
    /** The project's allow rules. */
    RUN,
    /** The project's allow rules plus {@code network.setup.allow}; production still applies. */
    SETUP
}
