package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's sequences against a recording kernel: no root needed. */
class SandboxLauncherTest {

    private static final GatewayPorts PORTS = new GatewayPorts(15001, 15053);
    private static final Resources RES = new Resources(512L << 20, 1.5, 128);

    @TempDir
    Path tmp;
    Path state;
    Path ws;
    FakeKernel kernel;
    List<String> warnings = new ArrayList<>();
    SandboxLauncher launcher;

    @Test
    void fakeKernel_refusesWhatTheHostRefuses_beforeApplyingAnyOperationOfTheCall() {
        assertThatThrownBy(() -> kernel.execute(List.of(new KernelOp.CreateNetns("alk0123abcd"), new KernelOp.DeleteLink("eth0"))))
                .isInstanceOf(SandboxException.class).hasMessageContaining("eth0");
        assertThat(kernel.executed).isEmpty();
        assertThat(kernel.netns).isEmpty();
    }

    @Test
    void createWorkspace_aLinkAtTheName_isRefused_andItsTargetKeepsItsMode() throws Exception {
        Path target = Files.createDirectories(tmp.resolve("host-dir"));
        Files.setPosixFilePermissions(target, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path control = Files.createSymbolicLink(tmp.resolve("w-control"), target);
        Files.setPosixFilePermissions(control, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        assertThat(Files.getPosixFilePermissions(target)).as("positive control: a plain chmod follows the link")
                .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(target, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));

        Path link = Files.createSymbolicLink(MemberWorkspaces.newPath(state, "demo", "w-0000aaaa"), target);
        assertThatThrownBy(() -> kernel.execute(new KernelOp.CreateWorkspace(state, link, 1000, 1000))).isInstanceOf(SandboxException.class).hasMessageContaining("exists already");
        assertThat(Files.getPosixFilePermissions(target)).isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @Test
    void createWorkspace_anExistingDirectory_isRefused_notReOwned() throws Exception {
        Path other = Files.createDirectories(MemberWorkspaces.newPath(state, "demo", "w-0000beef"));
        Files.setPosixFilePermissions(other, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
        assertThatThrownBy(() -> kernel.execute(new KernelOp.CreateWorkspace(state, other, 1000, 1000))).isInstanceOf(SandboxException.class).hasMessageContaining("exists already");
        assertThat(Files.getPosixFilePermissions(other)).isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
    }

    @Test
    void memberWorkspace_aNameAnotherMemberHolds_isSkipped_andANewOneTaken() throws Exception {
        Path taken = MemberWorkspaces.newPath(state, "demo", "w-0000beef");
        Files.createDirectory(taken);
        Files.writeString(taken.resolve("work"), "another member's\n");
        Files.setPosixFilePermissions(taken, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
        java.util.Iterator<String> names = List.of("w-0000beef", "w-0000cafe").iterator();

        Path ws = launcher.memberWorkspace("demo", names::next);

        assertThat(ws.getFileName()).hasToString("w-0000cafe");
        assertThat(taken.resolve("work")).hasContent("another member's");
        assertThat(Files.getPosixFilePermissions(taken)).isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
    }

    @Test
    void memberWorkspace_everyNameTaken_failsSayingSo() throws Exception {
        Files.createDirectory(MemberWorkspaces.newPath(state, "demo", "w-0000beef"));
        assertThatThrownBy(() -> launcher.memberWorkspace("demo", () -> "w-0000beef")).isInstanceOf(SandboxException.class)
                .hasMessageContaining("no free workspace name").hasMessageContaining("Fix:");
    }

    @BeforeEach
    void setUp() throws Exception {
        // The sandbox user (uid 1000 here) must be able to reach the workspace.
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        state = Files.createDirectories(tmp.resolve("state"));
        ws = Files.createDirectories(tmp.resolve("ws"));
        kernel = new FakeKernel(tmp.resolve("run"));
        launcher = launcher(kernel);
    }

    private SandboxLauncher launcher(FakeKernel k) {
        return new SandboxLauncher(state, LinkRange.DEFAULT, k, new SandboxUser(1000, 1000), warnings::add);
    }

    @AfterEach
    void tearDown() {
        launcher.close();
    }

    private SandboxSpec spec() {
        return new SandboxSpec("demo", ws, RES, PORTS);
    }

    private Path record(String id) {
        return state.resolve("sandboxes").resolve(id + ".json");
    }

    private Path lease(String id) {
        return tmp.resolve("run").resolve(id + ".json");
    }

    @Test
    void prepare_namesEveryObjectAfterTheId() throws Exception {
        PreparedSandbox p = launcher.prepare(spec());
        String hex = p.id().substring(3);
        assertThat(p.id()).matches("alk[0-9a-f]{8}");
        assertThat(p.netns()).isEqualTo("alk" + hex);
        assertThat(p.hostVeth()).isEqualTo("alk" + hex + "h").hasSizeLessThanOrEqualTo(15);
        assertThat(p.sandboxVeth()).isEqualTo("alk" + hex + "s");
        assertThat(p.nftTable()).isEqualTo("alk_" + hex);
        assertThat(p.cgroup()).isEqualTo(Path.of("/sys/fs/cgroup/alk" + hex));
        assertThat(p.hostAddress()).hasToString("100.96.0.1");
        assertThat(p.sandboxAddress()).hasToString("100.96.0.2");
        assertThat(p.workspace()).isEqualTo(ws.toRealPath());
        assertThat(kernel.objects()).containsExactlyInAnyOrder("netns " + p.netns(), "link " + p.hostVeth(), "table " + p.nftTable(),
                "cgroup " + p.cgroup(), "policy rule");
    }

    @Test
    void prepare_recordsEverythingBeforeCreatingAnything() throws Exception {
        List<String> seen = new ArrayList<>();
        kernel.before = op -> {
            if (op instanceof KernelOp.CreateNetns c) {
                String id = c.name();
                seen.add("record " + Files.exists(record(id)) + ", lease " + Files.exists(lease(id)));
            }
        };
        launcher.prepare(spec());
        assertThat(seen).containsExactly("record true, lease true");
    }

    @Test
    void prepare_orderOfOperations_nothingFlowsBeforeTheRules() throws Exception {
        PreparedSandbox p = launcher.prepare(spec());
        List<String> all = kernel.executed.stream().map(op -> op.getClass().getSimpleName()).toList();
        assertThat(all.subList(0, 3)).containsExactly("AddPolicyRule", "CreateNetns", "CreateVethPair");
        assertThat(all.subList(all.size() - 5, all.size())).containsExactly("EnableControllers", "CreateCgroup", "SetCgroupLimit",
                "SetCgroupLimit", "SetCgroupLimit");
        // The two sides run concurrently; within each, rules come before addresses and before the link goes up.
        List<KernelOp> middle = kernel.executed.subList(3, all.size() - 5);
        assertThat(middle.stream().filter(SandboxLauncherTest::inSandbox).map(op -> op.getClass().getSimpleName()))
                .containsExactly("Sysctl", "ApplyNftRuleset", "SetLinkUp", "AddAddress", "SetLinkUp", "AddDefaultRoute");
        assertThat(middle.stream().filter(op -> !inSandbox(op)).map(op -> op.getClass().getSimpleName()))
                .containsExactly("Sysctl", "ApplyNftRuleset", "AddAddress", "SetLinkUp");
        assertThat(kernel.executed).contains(
                new KernelOp.SetCgroupLimit(p.cgroup(), "memory.max", Long.toString(512L << 20)),
                new KernelOp.SetCgroupLimit(p.cgroup(), "cpu.max", "150000 100000"),
                new KernelOp.SetCgroupLimit(p.cgroup(), "pids.max", "128"));
    }

    private static boolean inSandbox(KernelOp op) {
        return switch (op) {
            case KernelOp.Sysctl o -> o.netns() != null;
            case KernelOp.ApplyNftRuleset o -> o.netns() != null;
            case KernelOp.SetLinkUp o -> o.netns() != null;
            case KernelOp.AddAddress o -> o.netns() != null;
            case KernelOp.AddDefaultRoute o -> true;
            default -> false;
        };
    }

    @Test
    void prepare_failureOnOneSide_waitsForTheOther_andRemovesEverything() {
        kernel.failOn = op -> op instanceof KernelOp.AddAddress a && a.netns() == null;
        assertThatThrownBy(() -> launcher.prepare(spec())).isInstanceOf(SandboxException.class).hasMessageContaining("injected");
        assertThat(kernel.objects()).isEmpty();
    }

    @Test
    void destroy_removesEveryCreatedObject_inReverseOrder() throws Exception {
        PreparedSandbox p = launcher.prepare(spec());
        List<Object> created = createdObjects(kernel.executed);
        kernel.executed.clear();
        launcher.destroy(p);
        List<Object> deleted = deletedObjects(kernel.executed);
        Collections.reverse(created);
        assertThat(deleted).containsExactlyElementsOf(created);
        assertThat(kernel.executed.get(0)).isEqualTo(new KernelOp.KillCgroup(p.cgroup()));
        assertThat(kernel.objects()).isEmpty();
        assertThat(record(p.id())).doesNotExist();
        assertThat(lease(p.id())).doesNotExist();
        assertThat(tmp.resolve("run").resolve(p.id())).doesNotExist();
        assertThat(warnings).isEmpty();
    }

    /** The objects an operation list creates (things inside a namespace die with it and are not counted). */
    private static List<Object> createdObjects(List<KernelOp> ops) {
        List<Object> out = new ArrayList<>();
        for (KernelOp op : ops) {
            switch (op) {
                case KernelOp.AddPolicyRule r -> out.add("policy rule");
                case KernelOp.CreateNetns c -> out.add("netns " + c.name());
                case KernelOp.CreateVethPair v -> out.add("link " + v.host());
                case KernelOp.ApplyNftRuleset t when t.netns() == null -> out.add("table " + t.table());
                case KernelOp.CreateCgroup c -> out.add("cgroup " + c.dir());
                default -> { }
            }
        }
        return out;
    }

    private static List<Object> deletedObjects(List<KernelOp> ops) {
        List<Object> out = new ArrayList<>();
        for (KernelOp op : ops) {
            switch (op) {
                case KernelOp.DeletePolicyRule r -> out.add("policy rule");
                case KernelOp.DeleteNetns c -> out.add("netns " + c.name());
                case KernelOp.DeleteLink v -> out.add("link " + v.name());
                case KernelOp.DeleteNftTable t -> out.add("table " + t.table());
                case KernelOp.DeleteCgroup c -> out.add("cgroup " + c.dir());
                default -> { }
            }
        }
        return out;
    }

    @Test
    void destroy_twice_isHarmless() throws Exception {
        PreparedSandbox p = launcher.prepare(spec());
        launcher.destroy(p);
        kernel.executed.clear();
        launcher.destroy(p);
        assertThat(createdObjects(kernel.executed)).isEmpty();
        assertThat(kernel.objects()).isEmpty();
        assertThat(warnings).isEmpty();
    }

    @Test
    void prepare_failureHalfway_removesWhatWasBuilt_andThrows() {
        kernel.failOn = op -> op instanceof KernelOp.AddDefaultRoute;
        assertThatThrownBy(() -> launcher.prepare(spec())).isInstanceOf(SandboxException.class).hasMessageContaining("injected");
        assertThat(kernel.objects()).isEmpty();
        assertThat(launcher.held()).isEmpty();
        assertThat(tmp.resolve("run")).isDirectoryNotContaining(p -> p.getFileName().toString().endsWith(".json"));
        assertThat(state.resolve("sandboxes")).isEmptyDirectory();
    }

    @Test
    void prepare_failedCleanup_handsTheRecordToTheReaper() throws Exception {
        kernel.failOn = op -> op instanceof KernelOp.AddDefaultRoute;
        FakeKernel k = kernel;
        k.before = op -> {
            if (op instanceof KernelOp.DeleteNetns) {
                k.failOn = x -> x instanceof KernelOp.DeleteNetns;
            }
        };
        assertThatThrownBy(() -> launcher.prepare(spec())).isInstanceOf(SandboxException.class);
        assertThat(warnings).singleElement().asString().contains("airlock gc");
        k.before = op -> { };
        ReapReport report = launcher(kernel).reap();
        assertThat(report.failures()).isEmpty();
        assertThat(report.sandboxes()).hasSize(1);
        assertThat(kernel.objects()).isEmpty();
    }

    @Test
    void policyRule_addedByTheFirstSandbox_removedWithTheLast() throws Exception {
        PreparedSandbox a = launcher.prepare(spec());
        PreparedSandbox b = launcher.prepare(spec());
        assertThat(kernel.executed.stream().filter(op -> op instanceof KernelOp.AddPolicyRule)).hasSize(1);
        launcher.destroy(a);
        assertThat(kernel.policyRule).isTrue();
        launcher.destroy(b);
        assertThat(kernel.policyRule).isFalse();
    }

    @Test
    void prepare_twoSandboxes_distinctIdsAndLinks_andAFreedLinkIsReused() throws Exception {
        PreparedSandbox a = launcher.prepare(spec());
        PreparedSandbox b = launcher.prepare(spec());
        assertThat(a.id()).isNotEqualTo(b.id());
        assertThat(b.hostAddress()).hasToString("100.96.0.5");
        launcher.destroy(a);
        PreparedSandbox c = launcher.prepare(spec());
        assertThat(c.hostAddress()).hasToString("100.96.0.1");
    }

    @Test
    void prepare_linksAreAllocatedAcrossLaunchers_throughTheMachineWideLeases() throws Exception {
        Owner other = new Owner(5000, 7);
        kernel.alive.add(other);
        try (SandboxLauncher second = new SandboxLauncher(tmp.resolve("other-state"), LinkRange.DEFAULT, kernel.as(other),
                new SandboxUser(1000, 1000), warnings::add)) {
            PreparedSandbox a = launcher.prepare(spec());
            PreparedSandbox b = second.prepare(spec());
            assertThat(b.hostAddress()).isNotEqualTo(a.hostAddress());
            // the other launcher's sandbox is alive: this launcher's reaper leaves it alone
            ReapReport r = launcher.reap();
            assertThat(r.sandboxes()).isEmpty();
            assertThat(kernel.netns).contains(a.netns(), b.netns());
        }
    }

    @Test
    void reap_deadOwner_removesItsSandbox_keepsTheLiveOnes() throws Exception {
        Owner crashed = new Owner(6000, 11);
        kernel.alive.add(crashed);
        SandboxLauncher dead = new SandboxLauncher(state, LinkRange.DEFAULT, kernel.as(crashed), new SandboxUser(1000, 1000), warnings::add);
        PreparedSandbox orphan = dead.prepare(spec());
        PreparedSandbox mine = launcher.prepare(spec());
        kernel.alive.remove(crashed); // kill -9: no cleanup ran

        ReapReport r = launcher.reap();

        assertThat(r.sandboxes()).containsExactly(orphan.id());
        assertThat(r.removed()).contains("netns " + orphan.netns(), "link " + orphan.hostVeth(), "nft table inet " + orphan.nftTable(),
                "cgroup " + orphan.cgroup(), "lease " + tmp.resolve("run").resolve(orphan.id() + ".json"));
        assertThat(kernel.objects()).containsExactlyInAnyOrder("netns " + mine.netns(), "link " + mine.hostVeth(), "table " + mine.nftTable(),
                "cgroup " + mine.cgroup(), "policy rule");
        assertThat(record(orphan.id())).doesNotExist();
        assertThat(kernel.killed).contains(orphan.cgroup());
    }

    // ---------------------------------------------------------------------------------------------
    // Member workspaces: owned by their sandbox, removed with it (issue 17 §3)

    /** A member workspace as the daemon gets one, filled by "the sandbox" with a planted link out of it. */
    private Path memberWorkspace(Path outside) throws Exception {
        Path w = MemberWorkspaces.newPath(state, "demo", MemberWorkspaces.randomName());
        Files.createDirectories(w.resolve("src/deep"));
        Files.writeString(w.resolve("src/deep/file"), "work\n");
        Files.createSymbolicLink(w.resolve("escape"), outside);
        Files.createSymbolicLink(w.resolve("src/escape-file"), outside.resolve("precious"));
        return w;
    }

    private Path outside() throws Exception {
        Path o = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(o.resolve("precious"), "host file\n");
        return o;
    }

    @Test
    void reap_deadOwner_removesItsMemberWorkspace_followsNoPlantedLink_andKeepsAUserWorkspace() throws Exception {
        Path outside = outside();
        Path member = memberWorkspace(outside);
        Files.writeString(ws.resolve("user-file"), "mine\n");
        Owner crashed = new Owner(6200, 13);
        kernel.alive.add(crashed);
        SandboxLauncher dead = new SandboxLauncher(state, LinkRange.DEFAULT, kernel.as(crashed), new SandboxUser(1000, 1000), warnings::add);
        PreparedSandbox pooled = dead.prepare(new SandboxSpec("demo", member, RES, PORTS));
        PreparedSandbox cold = dead.prepare(spec());
        kernel.alive.remove(crashed); // kill -9
        Path recorded = member.toRealPath();

        ReapReport r = launcher.reap();

        assertThat(r.sandboxes()).containsExactlyInAnyOrder(pooled.id(), cold.id());
        assertThat(r.removed()).contains("workspace " + recorded);
        assertThat(member).doesNotExist();
        assertThat(outside.resolve("precious")).as("the target of a planted link").hasContent("host file");
        assertThat(ws.resolve("user-file")).as("a workspace the user gave").hasContent("mine");
        assertThat(r.clean()).isTrue();
    }

    @Test
    void destroy_removesItsMemberWorkspace_neverAUserWorkspace() throws Exception {
        Path outside = outside();
        Path member = memberWorkspace(outside);
        PreparedSandbox pooled = launcher.prepare(new SandboxSpec("demo", member, RES, PORTS));
        PreparedSandbox cold = launcher.prepare(spec());
        launcher.destroy(pooled);
        launcher.destroy(cold);
        assertThat(member).doesNotExist();
        assertThat(outside.resolve("precious")).hasContent("host file");
        assertThat(ws).isDirectory();
    }

    @Test
    void sweepMemberWorkspaces_removesThoseNoSandboxHolds_only() throws Exception {
        Path held = memberWorkspace(outside());
        Path orphan = MemberWorkspaces.newPath(state, "demo", MemberWorkspaces.randomName());
        Files.createDirectories(orphan.resolve("sub"));
        Path notAMember = Files.createDirectories(MemberWorkspaces.root(state).resolve("demo/keep-me"));
        launcher.prepare(new SandboxSpec("demo", held, RES, PORTS));

        List<String> removed = launcher.sweepMemberWorkspaces();

        assertThat(orphan).doesNotExist();
        assertThat(held).isDirectory();
        assertThat(notAMember).as("not of a member workspace's shape").isDirectory();
        assertThat(removed).containsExactly("workspace " + orphan);
    }

    @Test
    void memberWorkspaces_ownership_isByShapeAndPlaceOnly() {
        Path root = MemberWorkspaces.root(state);
        assertThat(root).isEqualTo(tmp.resolve("state-workspaces"));
        assertThat(MemberWorkspaces.owned(state, root.resolve("demo/w-0123abcd"))).isTrue();
        assertThat(MemberWorkspaces.owned(state, root.resolve("demo/w-0123abcd/sub"))).isFalse();
        assertThat(MemberWorkspaces.owned(state, root.resolve("demo/project-dir"))).isFalse();
        assertThat(MemberWorkspaces.owned(state, root.resolve("Demo/w-0123abcd"))).isFalse();
        assertThat(MemberWorkspaces.owned(state, tmp.resolve("other-workspaces/demo/w-0123abcd"))).isFalse();
        assertThat(MemberWorkspaces.owned(state, root.resolve("demo/../../ws/w-0123abcd"))).isFalse();
    }

    // ---------------------------------------------------------------------------------------------
    // Copy-on-write workspaces over a template

    /** A template tree of {@code project} as TemplateManager lays it out: 0700 directories above it. */
    private Path template(String project) throws Exception {
        Path all = Files.createDirectories(state.resolve("templates"));
        Path mine = Files.createDirectories(all.resolve(project));
        Files.setPosixFilePermissions(all, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(mine, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Path tree = Files.createDirectories(mine.resolve("c0ffee-0123/tree"));
        Files.writeString(tree.resolve("README"), "template\n");
        return tree;
    }

    @Test
    void prepare_withTemplate_mountsAnOverlayAtTheAlkMountPoint_andRecordsIt() throws Exception {
        Path tree = template("demo");
        PreparedSandbox p = launcher.prepare(SandboxSpec.overTemplate("demo", tree, RES, PORTS));
        Path point = state.toRealPath().resolve("overlays").resolve(p.id());
        assertThat(p.workspace()).isEqualTo(point);
        assertThat(kernel.executed).contains(new KernelOp.MountOverlay(state.toRealPath(), p.id(), tree.toRealPath(), 1000, 1000));
        assertThat(kernel.objects()).contains("overlay " + point);
        assertThat(Files.readString(record(p.id()))).contains("\"overlayLower\"").contains(tree.toRealPath().toString());
        assertThat(Files.readString(lease(p.id()))).contains("\"overlayState\"");
    }

    @Test
    void destroy_withTemplate_unmountsAfterTheProcessesAreKilled() throws Exception {
        PreparedSandbox p = launcher.prepare(SandboxSpec.overTemplate("demo", template("demo"), RES, PORTS));
        kernel.executed.clear();
        launcher.destroy(p);
        List<String> order = kernel.executed.stream().map(op -> op.getClass().getSimpleName()).toList();
        assertThat(order.indexOf("UnmountOverlay")).isGreaterThan(order.indexOf("KillCgroup")).isLessThan(order.indexOf("DeleteCgroup"));
        assertThat(kernel.objects()).isEmpty();
    }

    @Test
    void reap_deadOwnerWithAnOverlay_unmountsIt() throws Exception {
        Owner crashed = new Owner(6100, 12);
        kernel.alive.add(crashed);
        PreparedSandbox orphan = new SandboxLauncher(state, LinkRange.DEFAULT, kernel.as(crashed), new SandboxUser(1000, 1000), warnings::add)
                .prepare(SandboxSpec.overTemplate("demo", template("demo"), RES, PORTS));
        kernel.alive.remove(crashed); // kill -9
        ReapReport r = launcher.reap();
        assertThat(r.sandboxes()).containsExactly(orphan.id());
        assertThat(kernel.mounts).isEmpty();
        assertThat(r.removed()).contains("overlay mount " + orphan.workspace());
    }

    @Test
    void reap_unrecordedAlkOverlayMountUnderTheStateDirectory_isUnmounted_othersUntouched() throws Exception {
        Path st = state.toRealPath();
        Path orphan = st.resolve("overlays/alk0000beef");
        Path foreign = Path.of("/var/lib/docker/overlay2/abc/merged");
        Path elsewhere = Path.of("/srv/overlays/alk0000cafe");
        kernel.mounts.addAll(List.of(orphan, foreign, elsewhere));
        ReapReport r = launcher.reap();
        assertThat(r.sandboxes()).containsExactly("alk0000beef");
        assertThat(kernel.mounts).containsExactlyInAnyOrder(foreign, elsewhere);
    }

    @Test
    void reap_unrecordedRootLayerMountsUnderTheStateDirectory_areUnmounted_othersUntouched() throws Exception {
        Path st = state.toRealPath();
        Path setupRoot = st.resolve("setup-roots/alk0000beef");
        Path stackedRoot = st.resolve("roots/alk0000cafe");
        Path foreign = Path.of("/srv/setup-roots/alk0000dead");
        Path notAnId = st.resolve("roots/home");
        kernel.mounts.addAll(List.of(setupRoot, stackedRoot, foreign, notAnId));
        ReapReport r = launcher.reap();
        assertThat(r.sandboxes()).containsExactlyInAnyOrder("alk0000beef", "alk0000cafe");
        assertThat(kernel.mounts).containsExactlyInAnyOrder(foreign, notAnId);
    }

    @Test
    void spec_aRootLayerWithoutAnImage_isRefused_onAnImageItIsKept() {
        SandboxSpec plain = new SandboxSpec("demo", Path.of("/srv/ws"), RES, PORTS);
        assertThatThrownBy(() -> plain.withRootLayer(new RootLayer.Writable("0123abcd"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("a root layer lies over an image");
        SandboxSpec onImage = plain.withImage(Path.of("/var/lib/airlock/images/sha256-" + "ab".repeat(32) + "/rootfs"))
                .withRootLayer(new RootLayer.Stacked("0123abcd"));
        assertThat(onImage.layer()).isEqualTo(new RootLayer.Stacked("0123abcd"));
        assertThat(onImage.withTrust(TrustBundle.SYSTEM).withProtection(WorkspaceProtection.DEFAULT).layer()).isEqualTo(onImage.layer());
    }

    @Test
    void prepare_anotherProjectsTemplate_isRefused() throws Exception {
        Path theirs = template("payments");
        assertThatThrownBy(() -> launcher.prepare(SandboxSpec.overTemplate("demo", theirs, RES, PORTS)))
                .isInstanceOf(SandboxException.class)
                .hasMessageContaining("never mounts another project's template");
        assertThat(kernel.objects()).isEmpty();
        // positive control: the owner project can mount it
        assertThat(launcher.prepare(SandboxSpec.overTemplate("payments", theirs, RES, PORTS)).workspace()).isNotNull();
    }

    @Test
    void prepare_templateOutsideTheTemplatesDirectory_orReadableByOthers_isRefused() throws Exception {
        assertThatThrownBy(() -> launcher.prepare(SandboxSpec.overTemplate("demo", ws, RES, PORTS)))
                .hasMessageContaining("is not one of project demo's templates");
        Path tree = template("demo");
        Files.setPosixFilePermissions(state.resolve("templates/demo"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        assertThatThrownBy(() -> launcher.prepare(SandboxSpec.overTemplate("demo", tree, RES, PORTS)))
                .hasMessageContaining("visible only through an overlay").hasMessageContaining("chmod 700");
        assertThat(kernel.objects()).isEmpty();
    }

    @Test
    void reap_pidReused_countsTheOwnerAsDead() throws Exception {
        Owner before = new Owner(7000, 100);
        kernel.alive.add(before);
        PreparedSandbox p = new SandboxLauncher(state, LinkRange.DEFAULT, kernel.as(before), new SandboxUser(1000, 1000), warnings::add)
                .prepare(spec());
        kernel.alive.remove(before);
        kernel.alive.add(new Owner(7000, 555)); // same PID, a later process
        assertThat(launcher.reap().sandboxes()).containsExactly(p.id());
    }

    @Test
    void reap_unrecordedAlkObjects_removed_othersUntouched() throws Exception {
        kernel.netns.addAll(List.of("alk0000beef", "alk-t1a2b-sbx", "cni-1234", "alkit1a2b"));
        kernel.links.addAll(List.of("alk0000beefh", "eth0", "docker0", "alkt1a2bh", "alkit1a2ba", "alk0000beefx"));
        kernel.tables.addAll(List.of("alk_0000beef", "filter", "alk_t1a2b"));
        kernel.cgroups.addAll(List.of(Path.of("/sys/fs/cgroup/alk0000beef"), Path.of("/sys/fs/cgroup/system.slice"),
                Path.of("/sys/fs/cgroup/alk0000BEEF"), Path.of("/sys/fs/cgroup/user.slice/alk0000cafe")));

        ReapReport r = launcher.reap();

        assertThat(r.sandboxes()).containsExactly("alk0000beef");
        assertThat(kernel.netns).containsExactlyInAnyOrder("alk-t1a2b-sbx", "cni-1234", "alkit1a2b");
        assertThat(kernel.links).containsExactlyInAnyOrder("eth0", "docker0", "alkt1a2bh", "alkit1a2ba", "alk0000beefx");
        assertThat(kernel.tables).containsExactlyInAnyOrder("filter", "alk_t1a2b");
        assertThat(kernel.cgroups).containsExactlyInAnyOrder(Path.of("/sys/fs/cgroup/system.slice"), Path.of("/sys/fs/cgroup/alk0000BEEF"),
                Path.of("/sys/fs/cgroup/user.slice/alk0000cafe"));
        // every operation the reaper ran named an object of the exact shape
        assertThat(kernel.executed).allSatisfy(op -> assertThat(op.toString()).containsPattern("alk_?0000beef"));
    }

    @Test
    void reap_orphanPolicyRule_removedWhenNoLeaseIsLeft_keptOtherwise() throws Exception {
        kernel.policyRule = true;
        assertThat(launcher.reap().removed()).anyMatch(s -> s.startsWith("ip rule fwmark 0x414c0000"));
        assertThat(kernel.policyRule).isFalse();

        launcher.prepare(spec());
        launcher.reap();
        assertThat(kernel.policyRule).isTrue();
    }

    @Test
    void claim_startsAsTheSandboxUser_inItsNetnsAndCgroups_withTheRequiredFlags() throws Exception {
        PreparedSandbox p = launcher.prepare(spec());
        launcher.claim(p, List.of("make", "test"), Map.of("TERM", "xterm", "HOME", "/workspace/home"), ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE).waitFor();
        Launch l = kernel.launches.get(0);
        assertThat(l.netns()).isEqualTo(p.netns());
        assertThat(l.cgroups()).containsExactly(p.cgroup());
        assertThat(l.uid()).isEqualTo(1000);
        assertThat(l.command()).containsExactly("/bin/sh", "-c", "exec \"$@\"", "airlock", "make", "test");
        assertThat(String.join(" ", l.bwrapArgs())).contains("--unshare-user --disable-userns --unshare-pid --unshare-ipc --unshare-uts"
                + " --unshare-cgroup-try --die-with-parent --new-session --cap-drop ALL --uid 1000 --gid 1000")
                .contains("--setenv HOME /workspace/home").contains("--setenv TERM xterm")
                .contains("--bind " + ws.toRealPath() + " /workspace --chdir /workspace");
        BwrapArgs.check(l.bwrapArgs(), 1000, 1000, tmp.resolve("run").resolve(p.id()).resolve("etc"));
    }

    @Test
    void prepare_asAnotherUser_runsThatSandboxAsThem_itsPasswdAndHomeTheirs_whileTheNextRunsAsTheLaunchersUser() throws Exception {
        PreparedSandbox theirs = launcher.prepare(spec(), new SandboxUser(4242, 4243));
        PreparedSandbox plain = launcher.prepare(spec());
        launcher.claim(theirs, List.of("true"), Map.of(), ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE).waitFor();
        launcher.claim(plain, List.of("true"), Map.of(), ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE).waitFor();

        Launch l = kernel.launches.get(0);
        assertThat(l.uid()).isEqualTo(4242);
        assertThat(l.gid()).isEqualTo(4243);
        assertThat(String.join(" ", l.bwrapArgs())).contains("--uid 4242 --gid 4243");
        Path run = tmp.resolve("run").resolve(theirs.id());
        BwrapArgs.check(l.bwrapArgs(), 4242, 4243, run.resolve("etc"));
        assertThat(Files.readString(run.resolve("etc/passwd"))).contains(SandboxUser.NAME + ":x:4242:4243:");
        assertThat(Files.getAttribute(run.resolve(BwrapArgs.HOME_DIR), "unix:uid")).isEqualTo(4242);
        // the launcher's own user is unchanged for every other sandbox
        assertThat(kernel.launches.get(1).uid()).isEqualTo(1000);
        assertThat(Files.readString(tmp.resolve("run").resolve(plain.id()).resolve("etc/passwd"))).contains(SandboxUser.NAME + ":x:1000:1000:");
    }

    @Test
    void claim_secondClaim_isRefused_andADestroyedSandboxCannotBeClaimed() throws Exception {
        PreparedSandbox p = launcher.prepare(spec());
        launcher.claim(p, List.of("true"), Map.of(), ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE)
                .waitFor();
        assertThatThrownBy(() -> launcher.claim(p, List.of("true"), Map.of(), ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE)).hasMessageContaining("already runs");
        launcher.destroy(p);
        assertThatThrownBy(() -> launcher.claim(p, List.of("true"), Map.of(), ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE)).hasMessageContaining("not prepared by this launcher, or was destroyed");
    }

    @Test
    void destroy_endsTheClaimedCommandThroughItsOwnHandle_beforeTheCgroups() throws Exception {
        kernel.startCommand = List.of("sleep", "60");
        PreparedSandbox p = launcher.prepare(spec());
        Process command = launcher.claim(p, List.of("sleep", "60"), Map.of(), ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE);
        launcher.destroy(p);
        // destroy killed it (SIGKILL), rather than waiting out the minute
        assertThat(command.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(command.exitValue()).isEqualTo(137);
    }

    @Test
    void claim_badEnvironment_isRefusedWithAFix() throws Exception {
        PreparedSandbox p = launcher.prepare(spec());
        assertThatThrownBy(() -> launcher.claim(p, List.of("true"), Map.of("A=B", "c"), ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE)).hasMessageContaining("Fix:");
        assertThat(kernel.launches).isEmpty();
    }

    @Test
    void prepare_workspacesThatWouldExposeTheHost_areRefused() throws Exception {
        for (Path bad : List.of(Path.of("/"), Path.of("/etc"), Path.of("/proc/self"), state, tmp, tmp.resolve("missing"))) {
            assertThatThrownBy(() -> launcher.prepare(new SandboxSpec("demo", bad, RES, PORTS))).as(bad.toString())
                    .isInstanceOf(SandboxException.class).hasMessageContaining("Fix:");
        }
        assertThat(kernel.executed).isEmpty();
    }

    @Test
    void prepare_badProjectName_isRefused() {
        assertThatThrownBy(() -> launcher.prepare(new SandboxSpec("../x", ws, RES, PORTS))).hasMessageContaining("[a-z0-9-]");
    }

    @Test
    void close_destroysWhatTheLauncherHolds() throws Exception {
        launcher.prepare(spec());
        launcher.prepare(spec());
        launcher.close();
        assertThat(kernel.objects()).isEmpty();
        assertThatThrownBy(() -> launcher.prepare(spec())).hasMessageContaining("closed");
    }

    @Test
    void prepare_legacyCgroups_oneDirectoryPerHierarchy_withV1Limits() throws Exception {
        CgroupLayout.Legacy v1 = new CgroupLayout.Legacy(Path.of("/sys/fs/cgroup/memory"), Path.of("/sys/fs/cgroup/cpu"),
                Path.of("/sys/fs/cgroup/pids"), Path.of("/sys/fs/cgroup/freezer"));
        FakeKernel k = new FakeKernel(tmp.resolve("run"), v1);
        try (SandboxLauncher l = launcher(k)) {
            PreparedSandbox p = l.prepare(spec());
            assertThat(p.cgroup()).isEqualTo(Path.of("/sys/fs/cgroup/pids").resolve(p.id()));
            assertThat(k.cgroups).hasSize(4);
            assertThat(k.executed).contains(
                    new KernelOp.SetCgroupLimit(Path.of("/sys/fs/cgroup/memory").resolve(p.id()), "memory.limit_in_bytes", Long.toString(512L << 20)),
                    new KernelOp.SetCgroupLimit(Path.of("/sys/fs/cgroup/cpu").resolve(p.id()), "cpu.cfs_quota_us", "150000"),
                    new KernelOp.SetCgroupLimit(Path.of("/sys/fs/cgroup/pids").resolve(p.id()), "pids.max", "128"));
            k.executed.clear();
            l.destroy(p);
            // the freezer first: it stops the members before anything else is killed
            assertThat(k.executed.get(0)).isEqualTo(new KernelOp.KillCgroup(Path.of("/sys/fs/cgroup/freezer").resolve(p.id())));
            assertThat(k.objects()).isEmpty();
        }
    }
}
