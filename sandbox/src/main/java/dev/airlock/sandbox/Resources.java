package dev.airlock.sandbox;

/**
 * The cgroup limits of one sandbox: {@code memory.max} in bytes, CPU time as a number of CPUs
 * ({@code cpu.max} = cpus × 100000 µs per 100000 µs), and {@code pids.max}. Every limit is required:
 * a sandbox without one would let an agent's fork bomb or leak take the host.
 */
public record Resources(long memoryBytes, double cpus, int pids) {

    /** The policy file's example ({@code resources: { memory: 4GiB, cpus: 2, pids: 2048 }}). */
    public static final Resources DEFAULT = new Resources(4L << 30, 2, 2048);

    public Resources {
        // 1 MiB: below it the kernel OOM-kills the shell before the command starts.
        if (memoryBytes < (1L << 20)) {
            throw new IllegalArgumentException("memory limit must be at least 1 MiB, not " + memoryBytes + " bytes");
        }
        if (!(cpus > 0) || Double.isInfinite(cpus)) {
            throw new IllegalArgumentException("cpus must be a positive number, not " + cpus);
        }
        // 8 pids: bwrap's monitor, its init, the shell and a few children.
        if (pids < 8) {
            throw new IllegalArgumentException("pids limit must be at least 8, not " + pids);
        }
    }

    /**
     * The quota of {@code cpu.max} (and v1 {@code cpu.cfs_quota_us}) per {@link #CPU_PERIOD_US}:
     * cpus × 100000, and at least 1000 µs (0.01 CPU), the smallest quota the kernel accepts.
     */
    public long cpuQuotaMicros() {
        return Math.max(MIN_QUOTA_US, Math.round(cpus * CPU_PERIOD_US));
    }

    /** The kernel refuses CFS quotas below 1 ms. */
    static final long MIN_QUOTA_US = 1000;

    /** The CFS period: the kernel's default, so that cpus × period is the quota. */
    public static final long CPU_PERIOD_US = 100_000;
}
