package dev.airlock.pool.warm;

/**
 * How a ready member died on its own (not claimed, rotated or destroyed by the pool).
 *
 * @param reason the metric label: {@code killed} (a signal ended its init), {@code exited} (its init
 *     exited by itself) or {@code gone} (found dead at a claim, before its exit was reported)
 * @param detail for the log: which member, and its exit status
 */
public record MemberDeath(String reason, String detail) {

    /** From a process exit value as Java reports it (128 + N for "killed by signal N"). */
    public static MemberDeath ofExit(String member, int exitValue) {
        if (exitValue > 128 && exitValue < 128 + 65) {
            return new MemberDeath("killed", member + ": its init was killed by signal " + (exitValue - 128) + " (exit status " + exitValue + ")");
        }
        return new MemberDeath("exited", member + ": its init exited with status " + exitValue);
    }
}
