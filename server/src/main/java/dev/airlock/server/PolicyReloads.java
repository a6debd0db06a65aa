package dev.airlock.server;

import dev.airlock.gateway.reload.PolicyReloader;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.TrustedCa;
import dev.airlock.runtime.PolicyContext;
import dev.airlock.runtime.SandboxHost;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The daemon follows its policy files: each project's {@code airlock.yaml} and the organisation
 * policy are looked at every {@link #POLL} by the gateway's own {@link PolicyReloader} (one per
 * project), and a changed, valid file is put in force without a restart.
 *
 * <p>What a reload does, in order: the setup-phase engine is compiled too (a problem there refuses
 * the whole reload); a changed production list is resolved before any engine uses it; then the
 * project's {@link LivePolicy} swaps, so the next claim's member and every live member's next
 * connection decide under the new rules. What the new file changes beyond its network rules applies
 * to members built from then on, and the idle ones are rotated so that no claim gets a member
 * prepared under the old settings: {@code resources} and {@code workspace.writableGitConfig}
 * rotate the ready members at once; a changed {@code workspace} (source, ref, setup, cacheKey) is
 * checked against the template, which rebuilds when its environment hash changed and then rotates
 * them; {@code pool} re-sizes. Claimed sandboxes keep what they were built with, except their
 * network rules. Adding or removing {@code workspace:} altogether changes how the pool is built and
 * takes effect at the daemon's next start (the log says so; its network rules apply at once).
 *
 * <p>A broken file, a file that now names another project, or one that now lies where a sandbox
 * writes ({@link PolicyLocations}) keeps the old policy in force; its problem (file:line:col and the
 * fix) is in {@link #problem}, the status, the dashboard and the log until a reload succeeds.
 */
final class PolicyReloads {

    /** How often the files are read and compared (a digest of their content): cheap, and quick enough for an edit. */
    static final Duration POLL = Duration.ofSeconds(2);

    private final DaemonConfig config;
    private final PolicyContext context;
    private final SandboxHost host;
    private final MeterRegistry meters;
    private final PrintStream log;
    private final Map<String, PolicyReloader> reloaders = new ConcurrentHashMap<>();
    private final Runnable applied;

    /**
     * @param context what every engine of the daemon is compiled with besides its project's policy
     * @param applied after each reload that put a new policy in force (the continuous audits look at the change)
     */
    PolicyReloads(DaemonConfig config, PolicyContext context, SandboxHost host, MeterRegistry meters, PrintStream log, Runnable applied) {
        this.applied = applied;
        this.config = config;
        this.context = context;
        this.host = host;
        this.meters = meters;
        this.log = log;
    }

    /**
     * Follows the policy of {@code pool}, in force since the daemon's start together with
     * {@code org}; {@code poolSettingsChanged} re-sizes the pool after a change of {@code pool:}.
     */
    void follow(Daemon.ProjectPool pool, OrgPolicy org, Runnable poolSettingsChanged) {
        String project = pool.project();
        DaemonConfig.Project cfg = pool.config();
        List<Path> files = new ArrayList<>(List.of(cfg.policy()));
        config.org().ifPresent(files::add);
        config.hosts().ifPresent(files::add);
        PolicyReloader r = new PolicyReloader(cfg.policy(), config.org(), context.links(), context.facts(), meters, log,
                () -> PolicyLocations.problem(config, files), loaded -> apply(pool, loaded, poolSettingsChanged));
        r.inForce(pool.policy(), org, pool.engine());
        reloaders.put(project, r);
        Gauge.builder("airlock.policy.reload.problem", r, x -> x.problem().isPresent() ? 1 : 0)
                .description("1 while a project's policy files do not load and its old policy stays in force")
                .tag("project", project).register(meters);
    }

    private void apply(Daemon.ProjectPool pool, PolicyReloader.Loaded loaded, Runnable poolSettingsChanged) throws PolicyException {
        PolicyEngine setup = context.engine(loaded.project(), loaded.org(), Phase.SETUP);
        context.production(loaded.org());
        LivePolicy.Compiled before = pool.live().apply(host, new LivePolicy.Compiled(loaded.project(), loaded.engine(), setup,
                TrustedCa.both(loaded.org().trust(), loaded.project().trust())));
        settingsChanged(pool, before, pool.live().settings(), loaded.project(), poolSettingsChanged);
        applied.run();
    }

    /** What else than network rules changed, and what the pool does about it. */
    private void settingsChanged(Daemon.ProjectPool pool, LivePolicy.Compiled was, LivePolicy.Settings now, ProjectPolicy after,
            Runnable poolSettingsChanged) {
        String project = pool.project();
        ProjectPolicy before = was.policy();
        if (!before.resources().cgroup().equals(after.resources().cgroup()) || before.writableGitConfig() != after.writableGitConfig()
                || !TrustedCa.samePems(was.trust(), now.trust())) {
            log.println("airlock daemon: " + project + ": resources, git protection or trusted CAs changed; its ready sandboxes are"
                    + " replaced by ones"
                    + " built under the new policy (claimed ones keep theirs until released)");
            pool.pool().rotate();
        }
        if (!before.workspace().equals(after.workspace())) {
            if (before.workspace().isPresent() != after.workspace().isPresent() || pool.templates().isEmpty()) {
                log.println("airlock daemon: " + project + ": `workspace:` was " + (after.workspace().isEmpty() ? "removed"
                        : before.workspace().isEmpty() ? "added" : "changed") + "; that changes how the pool is built and takes"
                        + " effect at the daemon's next start (the network rules apply now)");
            } else {
                ProjectTemplates t = pool.templates().get();
                t.policy(after);
                log.println("airlock daemon: " + project + ": workspace settings changed; checking the template (a changed setup or"
                        + " cacheKey rebuilds it, then the ready sandboxes rotate)");
                Thread.ofVirtual().name("airlock-template-check-" + project).start(t::refresh);
            }
        }
        if (!before.pool().equals(after.pool())) {
            poolSettingsChanged.run();
        }
    }

    /** Looks at every project's files; never throws (a failure is the reloader's problem, shown in status). */
    void check() {
        for (PolicyReloader r : reloaders.values()) {
            try {
                r.reloadIfChanged();
            } catch (RuntimeException e) {
                log.println("airlock daemon: policy reload check failed once: " + e);
            }
        }
    }

    /** The problem that keeps the old policy of {@code project} in force, or empty. */
    Optional<String> problem(String project) {
        PolicyReloader r = reloaders.get(project);
        return r == null ? Optional.empty() : r.problem();
    }

    /** Reloads of {@code project} that put a new policy in force since the daemon started. */
    long applied(String project) {
        PolicyReloader r = reloaders.get(project);
        return r == null ? 0 : r.appliedCount();
    }
}
