package dev.airlock.audit.report;

import dev.airlock.audit.battery.AuditException;
import dev.airlock.audit.battery.AuditRunner;
import dev.airlock.audit.battery.Battery;
import dev.airlock.audit.battery.BatteryRun;
import dev.airlock.audit.battery.Status;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * The audit as a service, for the command line and the daemon: run the battery (full, or the
 * quick subset for a warm-pool claim), keep its reports, and read the last result back (for
 * {@code airlock_audit_last_run_timestamp_seconds{result}} and {@code airlock_audit_probes_failed}).
 */
public final class Audits {

    /** One finished audit: what it found and where its reports are kept. */
    public record Done(BatteryRun run, Path dir) {
        public boolean passed() {
            return run.passed();
        }
    }

    private final Path stateDir;
    private final String airlockVersion;
    private final PrintStream progress;

    private final Path auditLog;

    public Audits(Path stateDir, String airlockVersion, PrintStream progress) {
        this(stateDir, airlockVersion, progress, stateDir.resolve("audit.log"));
    }

    /** {@code auditLog}: where the audits' gateway records its decisions (by default the shared {@code STATE/audit.log}). */
    public Audits(Path stateDir, String airlockVersion, PrintStream progress, Path auditLog) {
        this.stateDir = stateDir;
        this.airlockVersion = airlockVersion;
        this.progress = progress;
        this.auditLog = auditLog;
    }

    /** The full battery; reports kept under {@code $STATE/audits/<timestamp>/} (and copied to {@code copyTo}). */
    public Done run(Path policy, Optional<Path> org, Optional<Path> hosts, Set<Format> formats, Optional<Path> copyTo)
            throws AuditException, InterruptedException {
        return run(policy, org, hosts, Battery.Scope.FULL, formats, copyTo);
    }

    /** The quick subset (metadata, a host service, one production entry, rogue DNS, nftables, the state directory). */
    public Done quick(Path policy, Optional<Path> org, Optional<Path> hosts) throws AuditException, InterruptedException {
        return run(policy, org, hosts, Battery.Scope.QUICK, EnumSet.of(Format.JSON), Optional.empty());
    }

    public Done run(Path policy, Optional<Path> org, Optional<Path> hosts, Battery.Scope scope, Set<Format> formats, Optional<Path> copyTo)
            throws AuditException, InterruptedException {
        return run(policy, org, hosts, scope, formats, copyTo, () -> false);
    }

    /**
     * As {@link #run(Path, Optional, Optional, Battery.Scope, Set, Optional)}, for a caller that may stop
     * under the audit (the daemon): when {@code stopped} says so once the battery is over, the run is
     * kept only if it found a failure. Its errors are then the stop's (the sandbox torn down under the
     * probes: "the agent is gone"), not the host's, and a report of them would read as a failed audit.
     * Not kept, it ends in an {@link AuditException} that says why.
     */
    public Done run(Path policy, Optional<Path> org, Optional<Path> hosts, Battery.Scope scope, Set<Format> formats, Optional<Path> copyTo,
            BooleanSupplier stopped) throws AuditException, InterruptedException {
        BatteryRun run = new AuditRunner(progress).run(new AuditRunner.Options(policy, org, hosts, stateDir, scope, airlockVersion, auditLog));
        if (!kept(run, stopped.getAsBoolean())) {
            throw new AuditException(STOPPED_UNDER_IT + " (" + run.count(Status.ERROR) + " probe(s) could not finish); no report is kept");
        }
        try {
            return new Done(run, new ReportStore(stateDir).save(run, formats, copyTo));
        } catch (IOException e) {
            throw new AuditException("the audit ran (" + (run.passed() ? "pass" : "FAIL") + ") but its report could not be written under "
                    + new ReportStore(stateDir).root() + ": " + e.getMessage(), e);
        }
    }

    /** The words of the exception for a run that was not kept; the daemon prints them as a stop, not a failure. */
    public static final String STOPPED_UNDER_IT = "the audit was stopped under it";

    /** Whether a run is kept: always, unless its caller stopped under it and it found no failure. */
    static boolean kept(BatteryRun run, boolean stoppedUnderIt) {
        return !stoppedUnderIt || run.count(Status.FAIL) > 0;
    }

    /** The most recent kept report (of any project, full or quick), if any. */
    public Optional<ReportStore.Entry> last() throws IOException {
        List<ReportStore.Entry> all = new ReportStore(stateDir).list(new ArrayList<>());
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }
}
