package dev.airlock.pool.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.ProjectPolicy;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Templates against real git repositories made in a temporary directory (no network), with setup
 * run locally ({@link LocalSetupRunner}): building, HEAD moves and catch-up, environment changes,
 * failing setups, isolation between projects, and garbage collection. No root needed.
 */
class TemplateManagerTest {

    @TempDir
    Path tmp;
    Path state;
    SourceRepo source;
    LocalSetupRunner setup = new LocalSetupRunner();
    GitProgressTest.CapturingProgress progress = new GitProgressTest.CapturingProgress();
    TemplateManager manager;
    List<String> switched = new ArrayList<>();
    MutableClock clock = new MutableClock();

    @BeforeEach
    void setUp() throws Exception {
        state = Files.createDirectories(tmp.resolve("state"));
        source = new SourceRepo(tmp.resolve("source"));
        source.commit("package-lock.json", "{\"lock\":1}\n");
        source.commit("src/app.js", "console.log(1)\n");
        int uid = (Integer) Files.getAttribute(tmp, "unix:uid");
        int gid = (Integer) Files.getAttribute(tmp, "unix:gid");
        manager = new TemplateManager(state, "0.1.0-test", setup, clock, Git.system(), uid, gid,
                dev.airlock.sandbox.KernelOps.system());
        manager.addListener((project, t) -> switched.add(project + " " + t.id().name()));
    }

    private ProjectPolicy policy(String project, String setupYaml) throws Exception {
        return PolicyFiles.parseProject("airlock.yaml", """
                version: 1
                project: %s
                workspace:
                  source: %s
                  ref: main
                  setup: %s
                  cacheKey: [package-lock.json]
                """.formatted(project, source.dir, setupYaml));
    }

    private ProjectPolicy policy() throws Exception {
        return policy("demo", "[\"echo ok > built.txt\", \"echo step2 >> built.txt\"]");
    }

    private Template built(BuildResult r) {
        assertThat(r).isInstanceOf(BuildResult.Built.class);
        return ((BuildResult.Built) r).template();
    }

    @Test
    void build_checksOutTheBranchHead_runsSetupOnce_andMakesItCurrent() throws Exception {
        Template t = built(manager.build(policy(), progress));

        assertThat(t.id().commit()).isEqualTo(source.head());
        assertThat(Files.readString(t.tree().resolve("built.txt"))).isEqualTo("ok\nstep2\n");
        assertThat(Files.readString(t.tree().resolve("src/app.js"))).isEqualTo("console.log(1)\n");
        assertThat(SourceRepo.run(t.tree(), "rev-parse", "HEAD")).isEqualTo(source.head());
        assertThat(SourceRepo.run(t.tree(), "remote", "get-url", "origin")).isEqualTo(source.dir.toString());
        assertThat(manager.current("demo")).contains(t);
        assertThat(t.log()).exists();
        assertThat(setup.runs).isEqualTo(1);
        assertThat(switched).containsExactly("demo " + t.id().name());
        assertThat(progress.events).contains("phase fetch", "phase checkout", "phase setup", "step 1/2 echo ok > built.txt",
                "step 2/2 echo step2 >> built.txt");
        assertThat(progress.events).anyMatch(e -> e.startsWith("transfer "));
        assertThat(progress.events.get(progress.events.size() - 1)).startsWith("done template " + t.id().name());
        // Staging is gone once the tree moved in.
        try (var s = Files.list(state.resolve("staging"))) {
            assertThat(s.toList()).isEmpty();
        }
    }

    @Test
    void build_again_withNothingChanged_reusesTheTemplate_withoutRunningSetup() throws Exception {
        Template first = built(manager.build(policy(), progress));
        BuildResult again = manager.build(policy(), progress);
        assertThat(again).isEqualTo(new BuildResult.Built(first, true));
        assertThat(setup.runs).isEqualTo(1);
    }

    @Test
    void headMove_sameEnvironment_freshnessSaysBehind_andCatchUpBringsTheWorkspaceToHead() throws Exception {
        Template t = built(manager.build(policy(), progress));
        assertThat(manager.freshness(policy(), true)).isEqualTo(new Freshness.UpToDate(t));
        source.commit("src/app.js", "console.log(2)\n");
        String head = source.commit("src/feature.js", "feature\n");

        Freshness f = manager.freshness(policy(), true);
        assertThat(f).isEqualTo(new Freshness.Moved(t, head, 2));

        // A fresh copy-on-write workspace over the template: here a copy of the tree.
        Path ws = copyOfTree(t);
        CatchUp.Result r = manager.catchUp(policy(), t, ws, List.of("git", "rev-parse", "HEAD"));
        assertThat(r.behind()).isEqualTo(2);
        assertThat(r.caughtUp()).isTrue();
        assertThat(r.behindAtStart()).isZero();
        String out = runIn(ws, r.command());
        assertThat(out.strip()).isEqualTo(head);
        assertThat(Files.readString(ws.resolve("src/app.js"))).isEqualTo("console.log(2)\n");
        assertThat(ws.resolve("built.txt")).as("setup output survives the checkout").exists();
        assertThat(SourceRepo.run(ws, "rev-list", "--count", "HEAD.." + head)).isEqualTo("0");
        try (var s = Files.list(ws)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".airlock-catchup"));
        }
        // The template itself did not move.
        assertThat(SourceRepo.run(t.tree(), "rev-parse", "HEAD")).isEqualTo(t.id().commit());
    }

    @Test
    void catchUp_atHead_changesNothing() throws Exception {
        Template t = built(manager.build(policy(), progress));
        CatchUp.Result r = manager.catchUp(policy(), t, copyOfTree(t), List.of("true"));
        assertThat(r).isEqualTo(new CatchUp.Result(0, t.id().commit(), false, List.of("true")));
    }

    @Test
    void environmentChange_cacheKeyFileChanged_newEnvHash_rebuilds_andTheOldBecomesPrevious() throws Exception {
        Template old = built(manager.build(policy(), progress));
        String head = source.commit("package-lock.json", "{\"lock\":2}\n");

        Freshness f = manager.freshness(policy(), true);
        assertThat(f).isInstanceOf(Freshness.Rebuild.class);
        assertThat(((Freshness.Rebuild) f).envHash()).isNotEqualTo(old.id().envHash());
        // Catch-up refuses to paper over an environment change.
        CatchUp.Result r = manager.catchUp(policy(), old, copyOfTree(old), List.of("true"));
        assertThat(r.caughtUp()).isFalse();
        assertThat(r.behindAtStart()).isEqualTo(1);

        clock.advance();
        Template fresh = built(manager.build(policy(), progress));
        assertThat(fresh.id().commit()).isEqualTo(head);
        assertThat(fresh.id().envHash()).isEqualTo(((Freshness.Rebuild) f).envHash());
        assertThat(setup.runs).isEqualTo(2);
        assertThat(manager.current("demo")).contains(fresh);
        assertThat(switched).containsExactly("demo " + old.id().name(), "demo " + fresh.id().name());
        assertThat(manager.list("demo")).containsExactly(fresh, old);
    }

    @Test
    void environmentChange_setupCommandsChanged_rebuilds() throws Exception {
        Template old = built(manager.build(policy(), progress));
        Template fresh = built(manager.build(policy("demo", "[\"echo other > built.txt\"]"), progress));
        assertThat(fresh.id().commit()).isEqualTo(old.id().commit());
        assertThat(fresh.id().envHash()).isNotEqualTo(old.id().envHash());
    }

    @Test
    void failingSetup_keepsTheLastGoodTemplateCurrent_andReportsItsLog() throws Exception {
        Template good = built(manager.build(policy(), progress));
        source.commit("package-lock.json", "{\"lock\":3}\n");

        BuildResult r = manager.build(policy("demo", "[\"echo compiling\", \"echo 'npm ERR! boom' >&2; exit 3\"]"), progress);

        assertThat(r).isInstanceOf(BuildResult.Failed.class);
        BuildResult.Failed failed = (BuildResult.Failed) r;
        assertThat(failed.exitCode()).isEqualTo(3);
        assertThat(failed.kept()).contains(good);
        assertThat(failed.tail()).contains("npm ERR! boom");
        assertThat(Files.readString(failed.log())).contains("compiling").contains("npm ERR! boom");
        assertThat(failed.log()).startsWith(state.resolve("templates/demo/failed"));
        assertThat(manager.current("demo")).contains(good);
        assertThat(manager.list("demo")).containsExactly(good);
        assertThat(switched).containsExactly("demo " + good.id().name());
        assertThat(progress.events.get(progress.events.size() - 1)).contains("setup failed (exit 3)").contains(good.id().name());
    }

    @Test
    void failingFirstSetup_leavesNoCurrentTemplate() throws Exception {
        BuildResult r = manager.build(policy("demo", "[\"exit 7\"]"), progress);
        assertThat(r).isInstanceOfSatisfying(BuildResult.Failed.class, f -> assertThat(f.kept()).isEmpty());
        assertThat(manager.current("demo")).isEmpty();
    }

    @Test
    void twoProjects_haveSeparate0700Directories_andNeitherListsTheOther() throws Exception {
        Template a = built(manager.build(policy("alpha", "[\"echo a > built.txt\"]"), progress));
        Template b = built(manager.build(policy("beta", "[\"echo b > built.txt\"]"), progress));

        assertThat(a.tree()).startsWith(state.resolve("templates/alpha"));
        assertThat(b.tree()).startsWith(state.resolve("templates/beta"));
        for (Path d : List.of(state.resolve("templates"), state.resolve("templates/alpha"), state.resolve("templates/beta"),
                a.tree().getParent(), b.tree().getParent())) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d, LinkOption.NOFOLLOW_LINKS))).as(d.toString())
                    .isEqualTo("rwx------");
        }
        assertThat(manager.list("alpha")).containsExactly(a);
        assertThat(manager.list("beta")).containsExactly(b);
        assertThat(manager.projects()).containsExactly("alpha", "beta");
    }

    @Test
    void gc_keepsCurrentAndPrevious_removesOlderOnes() throws Exception {
        Template first = built(manager.build(policy(), progress));
        source.commit("package-lock.json", "{\"lock\":4}\n");
        clock.advance();
        Template second = built(manager.build(policy(), progress));
        source.commit("package-lock.json", "{\"lock\":5}\n");
        clock.advance();
        Template third = built(manager.build(policy(), progress)); // its build collects the first

        assertThat(manager.list("demo")).containsExactly(third, second);
        assertThat(first.tree()).doesNotExist();
    }

    @Test
    void gc_keepsATemplateASandboxStillMounts() throws Exception {
        Template first = built(manager.build(policy(), progress));
        Files.createDirectories(state.resolve("sandboxes"));
        Files.writeString(state.resolve("sandboxes/alk0000beef.json"), "{\"id\": \"alk0000beef\", \"overlayLower\": \"" + first.tree() + "\"}");
        for (int i = 0; i < 2; i++) {
            source.commit("package-lock.json", "{\"lock\":" + (10 + i) + "}\n");
            clock.advance();
            built(manager.build(policy(), progress));
        }
        assertThat(first.tree()).exists();
        Files.delete(state.resolve("sandboxes/alk0000beef.json"));
        assertThat(manager.gc("demo")).containsExactly(first.id());
        assertThat(first.tree()).doesNotExist();
    }

    @Test
    void build_removesStagingLeftByADeadBuildOfTheSameProject_only() throws Exception {
        Path dead = Files.createDirectories(state.resolve("staging/demo-0badc0de/tree"));
        Path other = Files.createDirectories(state.resolve("staging/demo-two-0badc0de/tree"));
        built(manager.build(policy(), progress));
        assertThat(dead.getParent()).doesNotExist();
        assertThat(other).exists();
    }

    @Test
    void build_withoutAWorkspaceSection_saysHowToAddOne() throws Exception {
        ProjectPolicy none = PolicyFiles.parseProject("airlock.yaml", "version: 1\nproject: demo\n");
        assertThatThrownBy(() -> manager.build(none, progress)).isInstanceOf(TemplateException.class)
                .hasMessageContaining("airlock.yaml").hasMessageContaining("Fix: add workspace:");
    }

    @Test
    void build_sourceThatRunsACommand_isRefused() throws Exception {
        ProjectPolicy ext = PolicyFiles.parseProject("airlock.yaml", """
                version: 1
                project: demo
                workspace: {source: "ext::sh -c touch% /tmp/pwned", ref: main, setup: [], cacheKey: []}
                """);
        assertThatThrownBy(() -> manager.build(ext, progress)).hasMessageContaining("ext:: transport");
    }

    @Test
    void build_missingBranch_saysSo() throws Exception {
        ProjectPolicy p = PolicyFiles.parseProject("airlock.yaml", """
                version: 1
                project: demo
                workspace: {source: %s, ref: release, setup: [], cacheKey: []}
                """.formatted(source.dir));
        assertThatThrownBy(() -> manager.build(p, progress)).hasMessageContaining("branch 'release' does not exist");
    }

    private Path copyOfTree(Template t) throws Exception {
        Path ws = tmp.resolve("ws-" + System.nanoTime());
        Process p = new ProcessBuilder("cp", "-a", t.tree().toString(), ws.toString()).inheritIO().start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        return ws;
    }

    private static String runIn(Path dir, List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("GIT_CONFIG_NOSYSTEM", "1");
        pb.environment().put("GIT_CONFIG_GLOBAL", "/dev/null");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    /** A clock the test moves by a minute at a time, so that build times order the templates. */
    static final class MutableClock extends Clock {
        private Instant now = Instant.parse("2026-01-01T00:00:00Z");

        void advance() {
            now = now.plusSeconds(60);
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    /** Records each request and writes into the root layer's directory what a root step would (the layer's upper directory). */
    private final class RootStepRunner implements SetupRunner {
        final List<Request> requests = new ArrayList<>();
        int exit;

        @Override
        public int run(Request r) throws TemplateException {
            requests.add(r);
            try {
                if (r.layer().isPresent()) {
                    Files.createDirectories(state.resolve("templates/" + r.project() + "/root-" + r.layer().get() + "/upper/usr/local/bin"));
                }
            } catch (java.io.IOException e) {
                throw new TemplateException(e.toString(), e);
            }
            return exit != 0 ? exit : setup.run(r);
        }
    }

    private ProjectPolicy rootStepPolicy() throws Exception {
        // A digest-pinned registry reference: its digest is known without asking any registry.
        return PolicyFiles.parseProject("airlock.yaml", """
                version: 1
                project: demo
                image: {ref: "registry.invalid/devbox@sha256:%s"}
                workspace:
                  source: %s
                  ref: main
                  setup:
                    - {run: "echo root > built.txt", root: true}
                    - echo plain >> built.txt
                """.formatted("ab".repeat(32), source.dir));
    }

    @Test
    void build_withRootSteps_asksForTheTemplatesRootLayer_writableForRootStepsStackedAfter() throws Exception {
        RootStepRunner runner = new RootStepRunner();
        TemplateManager m = new TemplateManager(state, "0.1.0-test", runner, clock, Git.system(),
                (Integer) Files.getAttribute(tmp, "unix:uid"), (Integer) Files.getAttribute(tmp, "unix:gid"), dev.airlock.sandbox.KernelOps.system());
        Template t = built(m.build(rootStepPolicy(), progress));
        SetupRunner.Request r = runner.requests.get(0);
        assertThat(r.rootSteps()).isEqualTo(1);
        assertThat(r.layer()).contains(t.id().rootLayer());
        assertThat(r.layerFor(0)).contains(new dev.airlock.runtime.TemplateLayer(t.id().rootLayer(), true));
        assertThat(r.layerFor(1)).contains(new dev.airlock.runtime.TemplateLayer(t.id().rootLayer(), false));
        assertThat(state.resolve("templates/demo/root-" + t.id().rootLayer())).isDirectory();
        // Control: without root steps, no layer at all.
        built(manager.build(policy("other", "[\"echo ok > built.txt\"]"), progress));
        assertThat(setup.runs).isEqualTo(2);
    }

    @Test
    void build_rootStepsFailing_removesTheHalfWrittenLayer_andGcRemovesOrphanLayersButKeepsTheCurrents() throws Exception {
        RootStepRunner runner = new RootStepRunner();
        TemplateManager m = new TemplateManager(state, "0.1.0-test", runner, clock, Git.system(),
                (Integer) Files.getAttribute(tmp, "unix:uid"), (Integer) Files.getAttribute(tmp, "unix:gid"), dev.airlock.sandbox.KernelOps.system());
        runner.exit = 3;
        assertThat(m.build(rootStepPolicy(), progress)).isInstanceOf(BuildResult.Failed.class);
        String failedLayer = runner.requests.get(0).layer().orElseThrow();
        assertThat(state.resolve("templates/demo/root-" + failedLayer)).doesNotExist();

        runner.exit = 0;
        Template t = built(m.build(rootStepPolicy(), progress));
        Path orphan = Files.createDirectories(state.resolve("templates/demo/root-0123abcd/upper"));
        source.commit("src/app.js", "console.log(3)\n");
        Template next = built(m.build(rootStepPolicy(), progress));
        assertThat(orphan.getParent()).doesNotExist();
        assertThat(state.resolve("templates/demo/root-" + next.id().rootLayer())).isDirectory();
        assertThat(state.resolve("templates/demo/root-" + t.id().rootLayer())).as("the previous template's, kept with it").isDirectory();
    }
}
