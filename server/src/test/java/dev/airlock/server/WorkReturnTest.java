package dev.airlock.server;

import static dev.airlock.server.GitFixture.commit;
import static dev.airlock.server.GitFixture.git;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import dev.airlock.sandbox.WorkspaceChanges;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What becomes of a released sandbox's work, with real git and a fake clock: exported when it can
 * be, kept (files, or the sandbox itself when even the capture failed) when it cannot, listed,
 * exportable later by id, and removed only once the retention window has passed.
 */
class WorkReturnTest {

    static final String ID = "alk0000e002";
    static final Instant T0 = Instant.parse("2026-12-07T04:00:00Z");

    /** A clock the test moves. */
    static final class FakeClock extends Clock {
        Instant now = T0;

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @TempDir
    Path tmp;

    Path state;
    Path user;
    Path workspace;
    String base;
    FakeClock clock = new FakeClock();
    ByteArrayOutputStream log = new ByteArrayOutputStream();

    @BeforeEach
    void repositories() throws Exception {
        state = Files.createDirectories(tmp.resolve("state"));
        user = tmp.resolve("user");
        base = GitFixture.init(user);
        workspace = tmp.resolve("workspace");
        git(tmp, "clone", "-q", user.toString(), workspace.toString());
        commit(workspace, "agent", "agent.txt", "work\n");
    }

    private WorkReturn work(DaemonConfig.Export settings) throws Exception {
        return new WorkReturn(new KeptWork(state, clock, dev.airlock.sandbox.KernelOps.system()), new RepoImport(List.of(state)), settings, clock, new PrintStream(log, true));
    }

    private WorkReturn.Live live(Optional<Path> source, SandboxShell shell) {
        // a commit moved a ref; no name outside .git was written
        return new WorkReturn.Live(ID, "proj", source, List.of(base), workspace, shell, () -> Optional.of(new WorkspaceChanges(List.of(), true)));
    }

    @Test
    void release_withALocalSource_exportsAndKeepsNothing() throws Exception {
        WorkReturn w = work(DaemonConfig.Export.DEFAULT);
        AtomicInteger destroyed = new AtomicInteger();
        WorkReturn.Outcome o = w.release(live(Optional.of(user), GitFixture.sandboxShell(workspace)), destroyed::incrementAndGet);
        assertThat(o.kind()).isEqualTo(WorkReturn.Kind.EXPORTED);
        assertThat(o.destroyable()).isTrue();
        assertThat(git(user, "log", "--format=%s", "-1", "airlock/" + ID)).isEqualTo("agent");
        assertThat(w.kept()).isEmpty();
        assertThat(Files.list(state.resolve(KeptWork.DIR))).as("no staging left").isEmpty();
    }

    @Test
    void release_withoutALocalSource_keepsTheWork_listsIt_andExportsItLaterById() throws Exception {
        WorkReturn w = work(DaemonConfig.Export.DEFAULT);
        WorkReturn.Outcome o = w.release(live(Optional.empty(), GitFixture.sandboxShell(workspace)), () -> { });
        assertThat(o.kind()).isEqualTo(WorkReturn.Kind.KEPT);
        assertThat(o.destroyable()).as("the files are the work: the sandbox may go").isTrue();
        assertThat(o.summary()).contains("airlock sandbox export " + ID + " --to REPO");
        assertThat(w.kept()).singleElement().satisfies(k -> {
            assertThat(k.id()).isEqualTo(ID);
            assertThat(k.project()).isEqualTo("proj");
            assertThat(k.keptUntil()).isEqualTo(T0.plus(Duration.ofHours(24)));
            assertThat(k.reason()).contains("workspace.source is not a local repository");
            assertThat(k.path()).isEqualTo(state.resolve("kept").resolve(ID));
        });
        assertThat(Files.getPosixFilePermissions(state.resolve("kept"))).as("root's alone")
                .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));

        // a new WorkReturn over the same state: a daemon restart
        WorkReturn restarted = work(DaemonConfig.Export.DEFAULT);
        assertThat(restarted.kept()).hasSize(1);
        assertThatThrownBy(() -> restarted.exportKept(ID, Optional.empty())).isInstanceOf(WorkReturn.ExportException.class)
                .hasMessageContaining("--to REPO");
        WorkReturn.Outcome later = restarted.exportKept(ID, Optional.of(user)).orElseThrow();
        assertThat(later.kind()).isEqualTo(WorkReturn.Kind.EXPORTED);
        assertThat(git(user, "log", "--format=%s", "-1", "airlock/" + ID)).isEqualTo("agent");
        assertThat(restarted.kept()).as("exported work is no longer kept").isEmpty();
    }

    @Test
    void release_whenTheImportFails_keepsTheWorkWithTheReason() throws Exception {
        git(user, "branch", "airlock/" + ID);
        WorkReturn w = work(DaemonConfig.Export.DEFAULT);
        WorkReturn.Outcome o = w.release(live(Optional.of(user), GitFixture.sandboxShell(workspace)), () -> { });
        assertThat(o.kind()).isEqualTo(WorkReturn.Kind.KEPT);
        assertThat(w.kept()).singleElement().satisfies(k -> assertThat(k.reason()).contains("export failed").contains("exists"));
        assertThat(git(user, "rev-parse", "airlock/" + ID)).as("the existing branch is not overwritten").isEqualTo(base);
    }

    @Test
    void release_withExportOff_keepsTheWork() throws Exception {
        WorkReturn w = work(new DaemonConfig.Export(false, Duration.ofHours(2)));
        WorkReturn.Outcome o = w.release(live(Optional.of(user), GitFixture.sandboxShell(workspace)), () -> { });
        assertThat(o.kind()).isEqualTo(WorkReturn.Kind.KEPT);
        assertThat(w.kept()).singleElement().satisfies(k -> {
            assertThat(k.reason()).contains("export.onRelease");
            assertThat(k.keptUntil()).isEqualTo(T0.plus(Duration.ofHours(2)));
        });
        assertThat(GitFixture.tryGit(user, "rev-parse", "-q", "--verify", "airlock/" + ID).exit()).isNotZero();
    }

    @Test
    void sweep_removesKeptWorkOnlyOnceItsWindowHasPassed() throws Exception {
        WorkReturn w = work(DaemonConfig.Export.DEFAULT);
        w.release(live(Optional.empty(), GitFixture.sandboxShell(workspace)), () -> { });
        clock.now = T0.plus(Duration.ofHours(24)).minusSeconds(1);
        assertThat(w.sweep()).isEmpty();
        assertThat(w.kept()).hasSize(1);
        clock.now = T0.plus(Duration.ofHours(24));
        assertThat(w.sweep()).containsExactly("kept work of " + ID);
        assertThat(w.kept()).isEmpty();
        assertThat(state.resolve("kept").resolve(ID)).doesNotExist();
    }

    @Test
    void release_whenTheCaptureFails_holdsTheSandboxUndestroyed_untilTheWindowHasPassed() throws Exception {
        WorkReturn w = work(DaemonConfig.Export.DEFAULT);
        AtomicInteger destroyed = new AtomicInteger();
        SandboxShell broken = cmd -> new ProcessBuilder("/bin/sh", "-c", "echo 'fatal: not a git repository' >&2; exit 128").start();
        WorkReturn.Outcome o = w.release(live(Optional.of(user), broken), destroyed::incrementAndGet);
        assertThat(o.kind()).isEqualTo(WorkReturn.Kind.HELD);
        assertThat(o.destroyable()).isFalse();
        assertThat(w.kept()).singleElement().satisfies(k -> {
            assertThat(k.sandbox()).as("the sandbox itself is held").isTrue();
            assertThat(k.path()).isEqualTo(workspace);
            assertThat(k.reason()).contains("could not be captured").contains("not a git repository");
        });
        clock.now = T0.plus(Duration.ofHours(23));
        w.sweep();
        assertThat(destroyed).hasValue(0);
        clock.now = T0.plus(Duration.ofHours(24));
        assertThat(w.sweep()).containsExactly("held sandbox " + ID);
        assertThat(destroyed).hasValue(1);
        assertThat(w.kept()).isEmpty();
    }

    @Test
    void exportKept_ofAHeldSandbox_capturesAgain_andDestroysItOnSuccess() throws Exception {
        WorkReturn w = work(DaemonConfig.Export.DEFAULT);
        AtomicInteger destroyed = new AtomicInteger();
        AtomicInteger calls = new AtomicInteger();
        SandboxShell flaky = cmd -> calls.getAndIncrement() == 0
                ? new ProcessBuilder("/bin/sh", "-c", "exit 1").start() : GitFixture.sandboxShell(workspace).exec(cmd);
        assertThat(w.release(live(Optional.of(user), flaky), destroyed::incrementAndGet).kind()).isEqualTo(WorkReturn.Kind.HELD);
        WorkReturn.Outcome o = w.exportKept(ID, Optional.empty()).orElseThrow();
        assertThat(o.kind()).isEqualTo(WorkReturn.Kind.EXPORTED);
        assertThat(destroyed).hasValue(1);
        assertThat(w.kept()).isEmpty();
    }

    @Test
    void export_thenRelease_withNothingNewSince_doesNotExportAgain() throws Exception {
        WorkReturn w = work(DaemonConfig.Export.DEFAULT);
        WorkReturn.Outcome first = w.export(live(Optional.of(user), GitFixture.sandboxShell(workspace)), Optional.empty());
        assertThat(first.kind()).isEqualTo(WorkReturn.Kind.EXPORTED);
        assertThat(w.export(live(Optional.of(user), GitFixture.sandboxShell(workspace)), Optional.empty()).summary())
                .as("asked again, nothing new: not a refusal for the branch it made").contains("since its export");
        WorkReturn.Outcome release = w.release(live(Optional.of(user), GitFixture.sandboxShell(workspace)), () -> { });
        assertThat(release.kind()).isEqualTo(WorkReturn.Kind.NOTHING);
        assertThat(release.summary()).contains("since its export");
        assertThat(w.kept()).isEmpty();
    }

    @Test
    void export_nothingNew_saysSo() throws Exception {
        Path clean = tmp.resolve("clean");
        git(tmp, "clone", "-q", user.toString(), clean.toString());
        WorkReturn w = work(DaemonConfig.Export.DEFAULT);
        WorkReturn.Outcome o = w.export(new WorkReturn.Live(ID, "proj", Optional.of(user), List.of(base), clean, GitFixture.sandboxShell(clean),
                () -> Optional.of(new WorkspaceChanges(List.of(), true))), Optional.empty());
        assertThat(o.kind()).isEqualTo(WorkReturn.Kind.NOTHING);
        assertThat(o.summary()).startsWith("airlock: nothing new in " + ID);
    }

    @Test
    void release_anOverlayWithNothingWrittenAndNoRefMoved_isNothing_withoutAskingTheSandbox() throws Exception {
        WorkReturn w = work(DaemonConfig.Export.DEFAULT);
        SandboxShell never = cmd -> {
            throw new AssertionError("the sandbox was asked: " + cmd);
        };
        WorkReturn.Outcome o = w.release(new WorkReturn.Live(ID, "proj", Optional.of(user), List.of(base), workspace, never,
                () -> Optional.of(new WorkspaceChanges(List.of(), false))), () -> { });
        assertThat(o.kind()).isEqualTo(WorkReturn.Kind.NOTHING);
        assertThat(o.summary()).contains("wrote nothing");
    }
}
