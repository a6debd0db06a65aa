package dev.airlock.server;

import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.pool.template.BuildResult;
import dev.airlock.pool.template.CatchUp;
import dev.airlock.pool.template.Freshness;
import dev.airlock.pool.template.ProgressSink;
import dev.airlock.pool.template.SetupRunner;
import dev.airlock.pool.template.Template;
import dev.airlock.pool.template.TemplateException;
import dev.airlock.pool.template.TemplateManager;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One project's templates as the daemon keeps them fresh: the first build at start, a check of the
 * branch every minute (fetch, then compare), a rebuild in the background when the environment hash
 * changed, and the pool's idle members rotated when a new template becomes current. Claims catch up
 * when only the branch moved ({@link #catchUp}). A failing setup keeps the last good template; the
 * failure is logged with its log's tail and shown in status until a build succeeds.
 */
final class ProjectTemplates {

    /** Replaced when a reload changed the workspace settings. */
    private volatile ProjectPolicy policy;
    private final TemplateManager manager;
    private final PrintStream log;
    private final MeterRegistry meters;
    private final AtomicBoolean building = new AtomicBoolean();
    private volatile Runnable onNewTemplate = () -> { };
    private volatile Optional<String> lastFailure = Optional.empty();
    private volatile int behind;
    private final Clock clock;
    private final BuildBackoff backoff = new BuildBackoff();

    ProjectTemplates(ProjectPolicy policy, SetupRunner setup, Path stateDir, String version, Clock clock, PrintStream log, MeterRegistry meters)
            throws TemplateException {
        this.policy = policy;
        this.manager = new TemplateManager(stateDir, version, setup, clock);
        this.log = log;
        this.meters = meters;
        this.clock = clock;
        manager.addListener((project, current) -> onNewTemplate.run());
    }

    /** The project's policy after a reload that changed its workspace settings; {@link #refresh} acts on them. */
    void policy(ProjectPolicy p) {
        this.policy = p;
    }

    /** What to do when a new template becomes current (the pool rotates its idle members). */
    void onNewTemplate(Runnable r) {
        this.onNewTemplate = r;
    }

    Optional<Template> current() throws TemplateException {
        return manager.current(policy.project());
    }

    /** Commits the current template is behind the branch, as of the last check. */
    int behind() {
        return behind;
    }

    Optional<String> lastFailure() {
        return lastFailure;
    }

    /** Fetches the branch and acts on what changed. Never throws: problems are logged and shown. */
    void refresh() {
        try {
            Freshness f = manager.freshness(policy, true);
            switch (f) {
                case Freshness.UpToDate u -> behind = 0;
                case Freshness.Moved m -> behind = m.behind();
                case Freshness.Rebuild r -> {
                    String inputs = r.head() + "-" + r.envHash();
                    if (backoff.due(inputs, clock.instant())) {
                        build(inputs);
                    }
                }
            }
        } catch (TemplateException | RuntimeException e) {
            log.println("airlock daemon: cannot check the template of " + policy.project() + ": " + e.getMessage());
        }
    }

    /** Starts a build unless one runs (at the daemon's start, before the first check knows the inputs). */
    void build() {
        build(null);
    }

    /** Starts a build of {@code inputs} (HEAD and environment hash) unless one runs; a failure holds the same inputs back ({@link BuildBackoff}). */
    void build(String inputs) {
        if (!building.compareAndSet(false, true)) {
            return;
        }
        long start = System.nanoTime();
        manager.buildInBackground(policy, lines(policy.project())).whenComplete((result, error) -> {
            building.set(false);
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            String outcome;
            if (error != null) {
                outcome = "error";
                lastFailure = Optional.of(String.valueOf(error.getMessage()));
                log.println("airlock daemon: template build of " + policy.project() + " failed: " + error.getMessage() + retry(inputs));
            } else if (result instanceof BuildResult.Failed failed) {
                outcome = "failed";
                lastFailure = Optional.of("setup exited " + failed.exitCode() + "; log " + failed.log());
                log.println("airlock daemon: template setup of " + policy.project() + " failed (exit " + failed.exitCode() + "); kept "
                        + failed.kept().map(t -> t.id().toString()).orElse("no template") + ". Log " + failed.log() + ", its end:\n"
                        + failed.tail() + retry(inputs));
            } else {
                outcome = "success";
                lastFailure = Optional.empty();
                backoff.succeeded();
                behind = 0;
                BuildResult.Built built = (BuildResult.Built) result;
                log.println("airlock daemon: template of " + policy.project() + " is " + built.template().id());
                if (built.reused()) {
                    onNewTemplate.run(); // an existing template became current: the listener did not fire
                }
            }
            Counter.builder("airlock.template.builds").tag("result", outcome).register(meters).increment();
            Timer.builder("airlock.template.build.duration").register(meters).record(took);
        });
    }

    /** Records a failed build of {@code inputs} and says when the same inputs are built again. */
    private String retry(String inputs) {
        if (inputs == null) {
            return ""; // the next check (within a minute) knows the inputs; its failure starts the wait
        }
        Instant at = backoff.failed(inputs, clock.instant());
        return "\nairlock daemon: " + policy.project() + "'s template is built again at " + at.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                + ", or at once when the branch or the setup moves";
    }

    /** The claimed command, prefixed with the catch-up to HEAD when only the branch moved. */
    CatchUp.Result catchUp(Template t, Path workspace, List<String> command) throws TemplateException {
        return manager.catchUp(policy, t, workspace, command);
    }

    private ProgressSink lines(String project) {
        return new ProgressSink() {
            @Override
            public void phase(String phase, String message) {
                log.println("airlock daemon: template " + project + ": " + message);
            }

            @Override
            public void transfer(String stage, int percent) {
                // per-percent progress is for terminals; the daemon logs phases
            }

            @Override
            public void setupStep(int step, int steps, String command) {
                log.println("airlock daemon: template " + project + ": setup " + step + "/" + steps + ": " + command);
            }

            @Override
            public void done(String message) {
                log.println("airlock daemon: template " + project + ": " + message);
            }
        };
    }
}
