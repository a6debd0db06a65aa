package dev.airlock.cli;

import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.pool.sim.Distribution;
import dev.airlock.pool.sim.TraceClaim;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/** Reading what the pool commands are given: the policy's pool block, the project, a trace, a zone, durations. */
final class PoolInputs {

    /** A bad option value; the message says what to write instead. */
    static final class BadInput extends Exception {
        BadInput(String message) {
            super(message);
        }
    }

    /** The project's pool settings and name, or the defaults when no policy is given and none is here. */
    record PolicyChoice(Optional<String> project, ProjectPolicy.PoolSettings settings, String source) {
    }

    private PoolInputs() {
    }

    /**
     * {@code --policy F} when given; else {@code ./airlock.yaml} when it exists; else the documented
     * defaults of the {@code pool:} block. Policy problems are printed as {@code file:line:col}.
     */
    static Optional<PolicyChoice> policy(Path explicit, PrintWriter err) {
        Path file = explicit != null ? explicit : Path.of("airlock.yaml");
        if (explicit == null && !Files.exists(file)) {
            return Optional.of(new PolicyChoice(Optional.empty(), ProjectPolicy.PoolSettings.DEFAULT, "defaults (no airlock.yaml here)"));
        }
        try {
            ProjectPolicy p = PolicyFiles.loadProject(file);
            return Optional.of(new PolicyChoice(Optional.of(p.project()), p.pool(), file.toString()));
        } catch (PolicyException e) {
            PolicyCheckCommand.print(err, e.problems());
            return Optional.empty();
        }
    }

    /** The project to size: --project, else the policy's, else the trace's only project. */
    static String project(String option, PolicyChoice policy, List<TraceClaim> trace, Path traceFile) throws BadInput {
        if (option != null) {
            return option;
        }
        if (policy.project().isPresent()) {
            return policy.project().get();
        }
        TreeSet<String> projects = new TreeSet<>();
        trace.forEach(c -> projects.add(c.project()));
        if (projects.size() == 1) {
            return projects.first();
        }
        throw new BadInput(traceFile + " holds claims of " + projects.size() + " projects (" + String.join(", ", projects)
                + "); pass --project P or --policy F to choose one");
    }

    static List<TraceClaim> ofProject(List<TraceClaim> trace, String project, Path traceFile) throws BadInput {
        List<TraceClaim> mine = trace.stream().filter(c -> c.project().equals(project)).toList();
        if (mine.isEmpty()) {
            throw new BadInput(traceFile + " has no claims of project \"" + project + "\"; pass --project with a project the trace names");
        }
        return mine;
    }

    /**
     * The usage database named by --db or --state (default: STATE/airlock.db). It must exist: the
     * pool commands only read history, and opening a missing file would create an empty database.
     */
    static Path database(Path db, Path state) throws BadInput {
        if (db != null && state != null) {
            throw new BadInput("--db and --state both name the database; pass one");
        }
        Path file = db != null ? db : (state != null ? state : StateDirectory.root()).resolve("airlock.db");
        if (!Files.exists(file)) {
            throw new BadInput("no usage history at " + file + "; the daemon records claims there"
                    + " (pass --state DIR or --db FILE if it keeps its state elsewhere), or pass --trace FILE");
        }
        return file;
    }

    static ZoneId zone(String option) throws BadInput {
        if (option == null) {
            return ZoneId.systemDefault();
        }
        try {
            return ZoneId.of(option);
        } catch (DateTimeException e) {
            throw new BadInput("invalid --zone \"" + option + "\"; write a zone ID such as UTC or Europe/Berlin");
        }
    }

    static Distribution distribution(String option, String value) throws BadInput {
        return Distribution.parse(value).orElseThrow(() -> new BadInput("invalid " + option + " \"" + value
                + "\"; write a duration such as 45s, 500ms, 2m or 1h, or exp:45s for an exponential one with that mean"));
    }
}
