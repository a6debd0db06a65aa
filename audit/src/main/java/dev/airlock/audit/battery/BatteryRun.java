package dev.airlock.audit.battery;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything one battery run found: what was audited, the enforcement as applied, the isolation
 * the sandbox actually had, and every probe's result. The report renders it.
 */
public record BatteryRun(Subject subject, Instant started, Instant finished, String kernel, String sandboxId, Battery.Scope scope,
        Enforcement enforcement, Isolation isolation, List<ProbeResult> results, List<String> notes) {

    public BatteryRun {
        results = List.copyOf(results);
        notes = List.copyOf(notes);
    }

    /** A file the audit read, with its SHA-256 (absent: not given). */
    public record Hashed(String path, String sha256) {
    }

    public record Subject(String project, Hashed policy, Optional<Hashed> org, Optional<Hashed> hosts, String airlockVersion) {
    }

    /** The nftables tables in force while the probes ran, as {@code nft list table} printed them. */
    public record Enforcement(String hostTable, String hostRuleset, String sandboxRuleset) {
    }

    /**
     * The boundaries as the running sandbox had them: bubblewrap's command line (from /proc), the
     * sandbox process's credentials and namespaces (from inside), its mounts, and its cgroup limits.
     */
    public record Isolation(List<String> bwrapArgs, Map<String, String> process, List<String> namespaces, List<String> mounts,
            Map<String, String> cgroupLimits) {
        public Isolation {
            bwrapArgs = List.copyOf(bwrapArgs);
            process = Map.copyOf(process);
            namespaces = List.copyOf(namespaces);
            mounts = List.copyOf(mounts);
            cgroupLimits = Map.copyOf(cgroupLimits);
        }
    }

    public long count(Status s) {
        return results.stream().filter(r -> r.status() == s).count();
    }

    /** True when no probe failed and none could not run: {@code airlock audit} exits 0. */
    public boolean passed() {
        return results.stream().noneMatch(r -> r.status().failsAudit());
    }
}
