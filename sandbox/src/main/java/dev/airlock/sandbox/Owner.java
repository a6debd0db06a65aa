package dev.airlock.sandbox;

/**
 * The process that owns a sandbox: its PID and its start time (field 22 of {@code /proc/<pid>/stat},
 * clock ticks since boot). The pair survives PID reuse: a new process with the same PID has a later
 * start time, so the owner counts as dead.
 */
record Owner(long pid, long startTicks) {

    /** No owner: a record whose owner gave it up (a teardown that failed), reaped by anyone. */
    public static final Owner NONE = new Owner(0, 0);
}
