package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Root's tree operations ({@link KernelOp.DeleteTree}, {@link KernelOp.ChownTree},
 * {@link KernelOp.CreateWorkspace}) on real files: a symbolic link on the way to the directory, or
 * a directory outside the state's areas, is refused at the privileged point and nothing is touched.
 */
class RootFileOpsTest {

    @TempDir
    Path tmp;
    Path state;
    Path elsewhere;
    SystemKernelOps ops;

    @BeforeEach
    void setUp() throws Exception {
        state = Files.createDirectories(tmp.resolve("state"));
        elsewhere = Files.createDirectories(tmp.resolve("elsewhere/alk0123abcd"));
        Files.writeString(elsewhere.resolve("keep.txt"), "host\n");
        ops = FakeKernel.fileOps(tmp.resolve("run"), new CgroupLayout.Unified(FakeKernel.V2_ROOT));
    }

    @Test
    void deleteTree_aLinkOnTheWay_isRefused_andItsTargetStays() throws Exception {
        Path kept = Files.createSymbolicLink(StateAreas.kept(state), elsewhere.getParent());
        // positive control: the path reaches the directory outside the state through the link
        assertThat(kept.resolve("alk0123abcd/keep.txt")).hasContent("host");

        assertThatThrownBy(() -> ops.execute(new KernelOp.DeleteTree(state, kept.resolve("alk0123abcd"))))
                .isInstanceOf(SandboxException.class).hasMessageContaining("symbolic link");
        assertThat(elsewhere.resolve("keep.txt")).hasContent("host");
    }

    @Test
    void deleteTree_belowAnArea_removesTheTree() throws Exception {
        Path entry = Files.createDirectories(StateAreas.kept(state).resolve("alk0123abcd/sub"));
        Files.writeString(entry.resolve("work.patch"), "x\n");
        ops.execute(new KernelOp.DeleteTree(state, entry.getParent()));
        assertThat(entry.getParent()).doesNotExist();
        assertThat(StateAreas.kept(state)).isDirectory();
    }

    @Test
    void deleteTree_outsideTheAreas_isRefused_andNothingIsRemoved() throws Exception {
        assertThatThrownBy(() -> ops.execute(new KernelOp.DeleteTree(state, elsewhere)))
                .isInstanceOf(SandboxException.class).hasMessageContaining("only below");
        Path records = Files.createDirectories(state.resolve("sandboxes"));
        assertThatThrownBy(() -> ops.execute(new KernelOp.DeleteTree(state, records))).isInstanceOf(SandboxException.class);
        assertThat(elsewhere.resolve("keep.txt")).hasContent("host");
        assertThat(records).isDirectory();
    }

    @Test
    void deleteTree_absent_doesNothing() throws Exception {
        ops.execute(new KernelOp.DeleteTree(state, StateAreas.kept(state).resolve("never/there")));
        assertThat(StateAreas.kept(state)).doesNotExist();
    }

    @Test
    void chownTree_aLinkOnTheWay_isRefused_andTheTargetKeepsItsOwner() throws Exception {
        int uid = (Integer) Files.getAttribute(elsewhere, "unix:uid");
        Path staging = Files.createDirectories(state.resolve(Overlays.STAGING));
        Path link = Files.createSymbolicLink(staging.resolve("demo-0123abcd"), elsewhere.getParent());
        assertThat(link.resolve("alk0123abcd/keep.txt")).as("positive control: the link reaches the directory").hasContent("host");

        assertThatThrownBy(() -> ops.execute(new KernelOp.ChownTree(state, link.resolve("alk0123abcd"), uid + 1, uid + 1)))
                .isInstanceOf(SandboxException.class).hasMessageContaining("symbolic link");
        assertThat((Integer) Files.getAttribute(elsewhere.resolve("keep.txt"), "unix:uid")).isEqualTo(uid);
    }

    @Test
    void chownTree_outsideTheAreas_isRefused() {
        assertThatThrownBy(() -> ops.execute(new KernelOp.ChownTree(state, elsewhere, 1000, 1000)))
                .isInstanceOf(SandboxException.class).hasMessageContaining("only below");
    }

    @Test
    void createWorkspace_aLinkOnTheWay_isRefused_andNothingIsCreated() throws Exception {
        Path root = MemberWorkspaces.root(state);
        Files.createSymbolicLink(root, elsewhere);
        Files.createDirectories(elsewhere.resolve("demo"));
        assertThat(root.resolve("demo")).as("positive control: the link reaches a project directory").isDirectory();

        assertThatThrownBy(() -> ops.execute(new KernelOp.CreateWorkspace(state, root.resolve("demo/w-0123abcd"), 1000, 1000)))
                .isInstanceOf(SandboxException.class).hasMessageContaining("symbolic link");
        assertThat(elsewhere.resolve("demo/w-0123abcd")).doesNotExist();
    }
    @Test
    void deleteTree_anAuditsWorkDirectory_removesItAndWhatTheSandboxPlanted() throws Exception {
        Path work = AuditWorkDirs.create(state);
        Path out = Files.createDirectories(work.resolve("workspace/out"));
        Files.createSymbolicLink(out.resolve("events.jsonl"), elsewhere.resolve("keep.txt"));
        Files.createSymbolicLink(out.resolve("dir"), elsewhere);
        ops.execute(new KernelOp.DeleteTree(state, work));
        assertThat(work).doesNotExist();
        assertThat(AuditWorkDirs.root(state)).isDirectory();
        assertThat(elsewhere.resolve("keep.txt")).as("the links' targets").hasContent("host");
    }

    @Test
    void deleteTree_aLinkOnTheWayToAnAuditsWorkDirectory_isRefused_andItsTargetStays() throws Exception {
        Path root = Files.createSymbolicLink(AuditWorkDirs.root(state), elsewhere.getParent());
        Files.createDirectories(elsewhere.getParent().resolve("a-0123abcd"));
        Files.writeString(elsewhere.getParent().resolve("a-0123abcd/keep.txt"), "host\n");
        assertThat(root.resolve("a-0123abcd/keep.txt")).as("positive control: the link reaches the directory").hasContent("host");

        assertThatThrownBy(() -> ops.execute(new KernelOp.DeleteTree(state, root.resolve("a-0123abcd"))))
                .isInstanceOf(SandboxException.class).hasMessageContaining("symbolic link");
        assertThat(elsewhere.getParent().resolve("a-0123abcd/keep.txt")).hasContent("host");
    }

    @Test
    void chownTree_inTheAuditsAreaButNotInAnAuditsWorkDirectory_isRefused_andTheOwnerStays() throws Exception {
        Path work = AuditWorkDirs.create(state);
        Path inWork = Files.createDirectories(work.resolve("workspace/.git"));
        Path stray = Files.createDirectories(AuditWorkDirs.root(state).resolve("home"));
        int uid = (Integer) Files.getAttribute(stray, "unix:uid");
        int other = uid == 0 ? 1000 : uid;
        // positive control: below an audit's work directory the same operation runs
        ops.execute(new KernelOp.ChownTree(state, inWork, other, other));
        assertThat((Integer) Files.getAttribute(inWork, "unix:uid")).isEqualTo(other);

        assertThatThrownBy(() -> ops.execute(new KernelOp.ChownTree(state, stray, uid + 1, uid + 1)))
                .isInstanceOf(SandboxException.class).hasMessageContaining("audits' work directories");
        assertThat((Integer) Files.getAttribute(stray, "unix:uid")).isEqualTo(uid);
    }
    @Test
    void auditWorkDirsCreate_aLinkWhereTheAreaGoes_isRefused_andItsTargetKeepsItsMode() throws Exception {
        Path target = elsewhere.getParent();
        Files.setPosixFilePermissions(target, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
        Files.createSymbolicLink(AuditWorkDirs.root(state), target);
        assertThat(AuditWorkDirs.root(state).resolve("alk0123abcd/keep.txt")).as("positive control: the link reaches it").hasContent("host");

        assertThatThrownBy(() -> AuditWorkDirs.create(state)).hasMessageContaining("not a directory owned by");
        assertThat(Files.getPosixFilePermissions(target)).isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
        try (var s = Files.list(target)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("alk0123abcd");
        }
    }
}
