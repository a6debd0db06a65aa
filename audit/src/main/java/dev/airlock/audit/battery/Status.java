package dev.airlock.audit.battery;

/** A probe's verdict (docs/audit.md). Only {@link #PASS} and {@link #NOT_REACHABLE_HERE} let the audit exit 0. */
public enum Status {
    PASS("pass"),
    FAIL("fail"),
    /**
     * An allowed entry that cannot be reached from this host (air-gapped, no hosts entry, DNS failure), or an
     * inconclusive block (no positive control, no deny record from the gateway: nothing shows a target was there).
     * Never a pass.
     */
    NOT_REACHABLE_HERE("not-reachable-here"),
    /** The probe could not run (a missing tool, a failed positive control, no answer from the agent). */
    ERROR("error");

    public final String code;

    Status(String code) {
        this.code = code;
    }

    /** True for the statuses that make {@code airlock audit} exit 1. */
    public boolean failsAudit() {
        return this == FAIL || this == ERROR;
    }
}
