package dev.airlock.audit.battery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.runtime.AuditWorkDirectory;
import dev.airlock.sandbox.FakeKernel;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxUser;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host half of {@code files:planted-link}: with Airlock's root write the probe passes, with a
 * plain write (the protection switched off) it fails; its positive control lands either way.
 */
class WorkspaceTargetsTest {

    @TempDir
    Path work;
    Path workspace;
    final LocalTarget.RootWrite target = new LocalTarget.RootWrite("out/events.jsonl", "out/control.jsonl");

    /** As the probe leaves it: both links planted, relative, leading out of the workspace to root's canaries. */
    @BeforeEach
    void planted() throws Exception {
        workspace = Files.createDirectories(work.resolve("workspace/out")).getParent();
        Path canaries = Files.createDirectories(work.resolve(WorkspaceTargets.CANARIES));
        Files.writeString(canaries.resolve(WorkspaceTargets.CANARY), "root-write canary\n");
        Files.writeString(canaries.resolve(WorkspaceTargets.CONTROL_CANARY), "root-write canary\n");
        Files.createSymbolicLink(workspace.resolve("out/events.jsonl"), Path.of("../../root-write/events.txt"));
        Files.createSymbolicLink(workspace.resolve("out/control.jsonl"), Path.of("../../root-write/control.txt"));
    }

    private static Outcome planted = new Outcome.Reported(Observed.SUCCEEDED, "planted ../../root-write/events.txt", 0, "");

    @Test
    void rootWrite_airlocksWay_isBlocked_andTheCanaryUnchanged() throws Exception {
        Outcome o = WorkspaceTargets.rootWrite(target, workspace, planted, WorkspaceTargets.AIRLOCK);
        assertThat(o.observation()).contains(Observed.BLOCKED);
        assertThat(work.resolve("root-write/events.txt")).hasContent("root-write canary");
        assertThat(Files.isSymbolicLink(workspace.resolve("out/events.jsonl"))).isFalse();
        assertThat(WorkspaceTargets.after(target, workspace).reached()).as("positive control").isTrue();
    }

    @Test
    void rootWrite_aPlainWrite_isReached_soTheProbeFails() throws Exception {
        Outcome o = WorkspaceTargets.rootWrite(target, workspace, planted, (f, d) -> Files.write(f, d));
        assertThat(o.observation()).contains(Observed.REACHED);
        assertThat(o.detail()).contains("followed the planted link");
        Probe probe = new Probe("files:planted-link", "files", "t", Expect.BLOCKED, "e", "s", Optional.of(target));
        assertThat(Verdict.judge(probe, o, Optional.of(WorkspaceTargets.after(target, workspace)), java.util.List.of()).status())
                .isEqualTo(Status.FAIL);
    }

    @Test
    void rootWrite_linksNotPlanted_cannotRun() {
        Outcome o = WorkspaceTargets.rootWrite(target, workspace, new Outcome.Reported(Observed.FAILED, "read-only", 1, ""),
                WorkspaceTargets.AIRLOCK);
        assertThat(o.observation()).contains(Observed.CANNOT_RUN);
    }
    @Test
    void prepare_inAnAuditsWorkDirectory_givesTheSandboxUserItsTreesThroughTheKernel() throws Exception {
        Path state = Files.createDirectories(work.resolve("state"));
        AuditWorkDirectory dir = AuditWorkDirectory.create(new FakeKernel(work.resolve("run")), state);
        Path ws = Files.createDirectories(dir.path().resolve("workspace"));
        SandboxUser user = new SandboxUser(1000, 1000);
        WorkspaceTargets.prepare(ws, user, dir);
        assertThat(ws.resolve(".git/hooks")).isDirectory();
        assertThat(ws.resolve("../root-write/events.txt")).hasContent("root-write canary");
        if ((Integer) Files.getAttribute(work, "unix:uid") == 0) { // re-owning to another user needs root
            assertThat((Integer) Files.getAttribute(ws.resolve(".git/config"), "unix:uid")).isEqualTo(1000);
            assertThat((Integer) Files.getAttribute(ws.resolve("out"), "unix:gid")).isEqualTo(1000);
        }
    }

    @Test
    void prepare_outsideAnAuditsWorkDirectory_isRefusedByTheKernel() throws Exception {
        Path state = Files.createDirectories(work.resolve("state"));
        Path ws = Files.createDirectories(work.resolve("elsewhere/workspace"));
        AuditWorkDirectory dir = AuditWorkDirectory.create(new FakeKernel(work.resolve("run")), state);
        assertThatThrownBy(() -> WorkspaceTargets.prepare(ws, new SandboxUser(1000, 1000), dir))
                .isInstanceOf(SandboxException.class).hasMessageContaining("refused");
        assertThat((Integer) Files.getAttribute(ws.resolve(".git"), "unix:uid")).as("nothing re-owned")
                .isEqualTo((Integer) Files.getAttribute(ws, "unix:uid"));
    }
    @Test
    void close_removesTheWorkDirectoryWithoutFollowingWhatTheSandboxPlanted() throws Exception {
        Path state = Files.createDirectories(work.resolve("state"));
        Path outside = Files.writeString(Files.createDirectories(work.resolve("host")).resolve("keep.txt"), "host\n");
        AuditWorkDirectory dir = AuditWorkDirectory.create(new FakeKernel(work.resolve("run")), state);
        Path out = Files.createDirectories(dir.path().resolve("workspace/out"));
        Files.createSymbolicLink(out.resolve("events.jsonl"), outside);
        assertThat(out.resolve("events.jsonl")).as("positive control: the planted link reaches the host file").hasContent("host");
        dir.close();
        assertThat(dir.path()).doesNotExist();
        assertThat(outside).hasContent("host");
    }
}
