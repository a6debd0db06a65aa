package dev.airlock.pool.sim;

/**
 * What a simulated replay gave.
 *
 * @param claims              claims replayed
 * @param warm                claims that found a ready member
 * @param cold                claims that found none (a cold start)
 * @param hours               simulated time, from the first claim to the last
 * @param idleSandboxHours    ready members waiting, integrated over time: the pool's idle cost
 * @param warmingSandboxHours members being refilled, integrated over time
 * @param inUseSandboxHours   claimed sandboxes (warm or cold) integrated over time
 * @param peakInUse           the most sandboxes held by claims at once
 * @param refills             refills started (including those cancelled when the size dropped)
 */
public record SimulationReport(long claims, long warm, long cold, double hours, double idleSandboxHours,
        double warmingSandboxHours, double inUseSandboxHours, int peakInUse, long refills) {

    /** warm / (warm + cold), as DESIGN.md §2 defines the warm hit rate. */
    public double hitRate() {
        return claims == 0 ? 1.0 : (double) warm / claims;
    }

    /** Idle sandbox-hours per hour of simulated time: the mean number of idle members. */
    public double idlePerHour() {
        return hours > 0 ? idleSandboxHours / hours : 0;
    }
}
