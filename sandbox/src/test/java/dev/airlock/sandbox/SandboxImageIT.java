package dev.airlock.sandbox;

import static dev.airlock.sandbox.KernelSupport.inSandbox;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.sandbox.TestLayouts.Entry;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sandbox on an image (docs/images.md), against the real kernel: the image, built offline by
 * scripts/make-test-image.sh (cached under target/), is unpacked once per digest into the store,
 * root's and inert; a sandbox on it sees the image's /usr and not the host's, while a sandbox on
 * the host root (the control) sees the host's; the image root is read-only and /etc is still the
 * generated one; a layer with a path trick is refused and writes nothing, while the same layer
 * without the trick unpacks. Needs root and umoci; with {@code CI=true} a machine without them
 * fails, elsewhere the class is skipped.
 */
class SandboxImageIT {

    private static final GatewayPorts PORTS = new GatewayPorts(15001, 15053);
    private static final Resources RES = new Resources(256L << 20, 1, 128);
    private static final Duration SCRIPT = Duration.ofSeconds(30);
    /** A file the host has and the test image lacks (the image holds only sh and a few coreutils). */
    private static final String HOST_ONLY = "/usr/bin/nsenter";
    private static final String IMAGE_MARKER = "/usr/share/airlock-test-image/marker";

    @TempDir
    static Path tmp;
    static Path state;
    static SandboxLauncher launcher;
    static CgroupLayout layout;
    static Path testImage;

    @BeforeAll
    static void setUp() throws Exception {
        KernelSupport.requireRoot("nsenter", "ip", "nft", "umoci");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        state = Files.createDirectories(tmp.resolve("state"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
        launcher = SandboxLauncher.system(state);
        layout = KernelOps.system().cgroups();
        testImage = Path.of("target", "test-images", "devbox").toAbsolutePath();
        Files.createDirectories(testImage.getParent());
        KernelSupport.admin("../scripts/make-test-image.sh", testImage.toString(), "test");
    }

    @AfterAll
    static void tearDown() {
        if (launcher != null) {
            launcher.close();
            assertThat(KernelSupport.leftovers(layout)).isEmpty();
        }
    }

    @Test
    void unpack_sameImageTwice_oneRootByDigestRootsAndInert() throws Exception {
        ImageStore.Unpacked a = launcher.images().unpack(testImage, Optional.of("test"), Optional.empty());
        ImageStore.Unpacked b = launcher.images().unpack(testImage, Optional.of("test"), Optional.of(a.digest()));
        assertThat(b).isEqualTo(a);
        assertThat(a.root()).isEqualTo(state.toRealPath().resolve("images").resolve("sha256-" + a.digest().substring(7)).resolve("rootfs"));
        assertThat(launcher.images().digests()).contains(a.digest());
        assertThat(Files.readString(a.root().resolve(IMAGE_MARKER.substring(1)))).isEqualTo("from the image\n");
        for (Path p : List.of(a.root(), a.root().resolve("usr/bin/sh"), a.root().resolve("workspace"), a.root().resolve("etc/passwd"))) {
            assertThat((Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS)).as(p.toString()).isZero();
            assertThat((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07022).as(p.toString()).isZero();
        }
        // The second run found it by the index's bytes alone (no JSON parsed): the memo names the digest.
        try (var s = Files.list(state.resolve("images"))) {
            assertThat(s.filter(p -> p.getFileName().toString().startsWith("index-")).map(p -> {
                try {
                    return Files.readString(p).strip();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList()).contains(a.digest());
        }
        try (var s = Files.list(state.resolve("images"))) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).as("no staging left").contains("sha256-" + a.digest().substring(7))
                    .noneMatch(n -> n.startsWith(".staging"));
        }
    }

    @Test
    void unpack_ociArchiveOfTheLayout_sameDigestSameRoot() throws Exception {
        ImageStore.Unpacked dir = launcher.images().unpack(testImage, Optional.of("test"), Optional.empty());
        Path archive = tmp.resolve("devbox.tar");
        KernelSupport.admin("tar", "-C", testImage.toString(), "-cf", archive.toString(), ".");
        assertThat(ImageStore.manifestDigest(archive, Optional.of("test"), Optional.empty())).isEqualTo(dir.digest());
        assertThat(launcher.images().unpack(archive, Optional.of("test"), Optional.empty())).isEqualTo(dir);
        // a store that does not have it yet unpacks the archive itself: the same digest
        Path other = Files.createDirectories(tmp.resolve("other-state")).toRealPath();
        ImageStore.Unpacked fromArchive = new ImageStore(other, launcher.kernel()).unpack(archive, Optional.of("test"), Optional.empty());
        assertThat(fromArchive.digest()).isEqualTo(dir.digest());
        assertThat(fromArchive.root()).startsWith(other);
        assertThat(Files.readString(fromArchive.root().resolve(IMAGE_MARKER.substring(1)))).isEqualTo("from the image\n");
    }

    @Test
    void unpack_setuidAndWritableEntries_madeRootsAndInert() throws Exception {
        Path l = tmp.resolve("setuid-layout");
        TestLayouts.layout(l, "t", List.of(Entry.dir("usr").withMode(0777, 1000), Entry.file("usr/su", "#!/bin/sh\n").withMode(04755, 1000),
                Entry.charDevice("dev/mem")));
        Path root = launcher.images().unpack(l, Optional.of("t"), Optional.empty()).root();
        assertThat((Integer) Files.getAttribute(root.resolve("usr/su"), "unix:mode") & 07777).isEqualTo(0755);
        assertThat((Integer) Files.getAttribute(root.resolve("usr/su"), "unix:uid")).isZero();
        assertThat((Integer) Files.getAttribute(root.resolve("usr"), "unix:mode") & 07777).isEqualTo(0755);
        assertThat(root.resolve("dev/mem")).doesNotExist();
    }

    @Test
    void unpack_layerClimbingOut_refusedAndWritesNothing_sameLayerWithoutTheTrickUnpacks() throws Exception {
        String name = "escape-" + Long.toHexString(System.nanoTime());
        Path bad = tmp.resolve("bad-layout");
        TestLayouts.layout(bad, "t", List.of(Entry.dir("usr"), Entry.file("usr/../../../../" + name, "pwned")));
        assertThatThrownBy(() -> launcher.images().unpack(bad, Optional.of("t"), Optional.empty()))
                .isInstanceOf(SandboxException.class).hasMessageContaining("is refused");
        try (var s = Files.walk(tmp)) {
            assertThat(s.filter(p -> p.getFileName().toString().equals(name)).toList()).isEmpty();
        }
        assertThat(Path.of("/" + name)).doesNotExist();
        try (var s = Files.list(state.resolve("images"))) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".staging")).toList()).isEmpty();
        }

        Path good = tmp.resolve("good-layout");
        TestLayouts.layout(good, "t", List.of(Entry.dir("usr"), Entry.file("usr/" + name, "fine")));
        Path root = launcher.images().unpack(good, Optional.of("t"), Optional.empty()).root();
        assertThat(Files.readString(root.resolve("usr").resolve(name))).isEqualTo("fine");
    }

    @Test
    void unpack_linkThenWriteThrough_refusedAndWritesNothingOutside() throws Exception {
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Path bad = tmp.resolve("link-layout");
        TestLayouts.layout(bad, "t", List.of(Entry.symlink("evil", outside.toString()), Entry.file("evil/pwned", "x")));
        assertThatThrownBy(() -> launcher.images().unpack(bad, Optional.of("t"), Optional.empty()))
                .isInstanceOf(SandboxException.class).hasMessageContaining("through a symbolic link");
        assertThat(outside.resolve("pwned")).doesNotExist();
    }

    @Test
    void sandbox_onImage_seesTheImagesUsrNotTheHosts_hostRootControlSeesTheHosts() throws Exception {
        ImageStore.Unpacked image = launcher.images().unpack(testImage, Optional.of("test"), Optional.empty());
        String probe = "test -e " + HOST_ONLY + " && echo host-tool; test -e " + IMAGE_MARKER + " && echo image-marker;"
                + " airlock-image-tool 2>/dev/null; id -un; echo ok";

        PreparedSandbox control = launcher.prepare(new SandboxSpec("img", KernelSupport.workspace(tmp, "ws-host"), RES, PORTS));
        KernelSupport.Result onHost = inSandbox(launcher, control, SCRIPT, probe);
        launcher.destroy(control);
        assertThat(Files.exists(Path.of(HOST_ONLY))).as("the control needs the host to have " + HOST_ONLY).isTrue();
        assertThat(onHost.out()).contains("host-tool").doesNotContain("image-marker").doesNotContain("image-tool-ok").contains("ok");

        PreparedSandbox p = launcher.prepare(new SandboxSpec("img", KernelSupport.workspace(tmp, "ws-image"), RES, PORTS)
                .withImage(image.root()));
        try {
            KernelSupport.Result onImage = inSandbox(launcher, p, SCRIPT, probe);
            assertThat(onImage.out()).as(onImage.toString()).doesNotContain("host-tool").contains("image-marker").contains("image-tool-ok")
                    .contains("airlock").contains("ok");
        } finally {
            launcher.destroy(p);
        }
    }

    @Test
    void sandbox_onImage_rootReadOnly_etcGenerated_workspaceWritable() throws Exception {
        ImageStore.Unpacked image = launcher.images().unpack(testImage, Optional.of("test"), Optional.empty());
        Path ws = KernelSupport.workspace(tmp, "ws-ro");
        PreparedSandbox p = launcher.prepare(new SandboxSpec("img", ws, RES, PORTS).withImage(image.root()));
        try {
            KernelSupport.Result r = inSandbox(launcher, p, SCRIPT, "cat /etc/passwd; cat /etc/resolv.conf; cat /etc/os-release;"
                    + " (echo x > /usr/x) 2>/dev/null && echo wrote-usr; (echo x > /etc/x) 2>/dev/null && echo wrote-etc;"
                    + " echo mine > /workspace/f && echo wrote-ws; echo ok");
            assertThat(r.out()).as(r.toString()).contains("airlock:x:").contains("nameserver " + p.hostAddress())
                    .contains("airlock test image").doesNotContain("wrote-usr").doesNotContain("wrote-etc").contains("wrote-ws").contains("ok");
            assertThat(Files.readString(ws.resolve("f"))).isEqualTo("mine\n");
            assertThat(image.root().resolve("usr/x")).doesNotExist();
        } finally {
            launcher.destroy(p);
        }
    }

    @Test
    void sandboxes_onTwoImages_shareNothingWritable_andSeeNeitherStore() throws Exception {
        ImageStore.Unpacked a = launcher.images().unpack(testImage, Optional.of("test"), Optional.empty());
        Path otherLayout = tmp.resolve("second-devbox");
        KernelSupport.admin("../scripts/make-test-image.sh", otherLayout.toString(), "test", "the second image");
        ImageStore.Unpacked b = launcher.images().unpack(otherLayout, Optional.of("test"), Optional.empty());
        assertThat(b.digest()).isNotEqualTo(a.digest());
        PreparedSandbox pa = launcher.prepare(new SandboxSpec("img-a", KernelSupport.workspace(tmp, "ws-a"), RES, PORTS).withImage(a.root()));
        PreparedSandbox pb = launcher.prepare(new SandboxSpec("img-b", KernelSupport.workspace(tmp, "ws-b"), RES, PORTS).withImage(b.root()));
        try {
            String probe = "cat " + IMAGE_MARKER + "; for d in / /usr /etc /usr/share/airlock-test-image; do (echo x > $d/w) 2>/dev/null"
                    + " && echo wrote $d; done; test -e " + b.root() + " && echo sees-b; test -e " + a.root() + " && echo sees-a;"
                    + " test -e " + state + " && echo sees-state; echo x > /workspace/w && echo workspace-writable; echo ok";
            KernelSupport.Result ra = inSandbox(launcher, pa, SCRIPT, probe);
            KernelSupport.Result rb = inSandbox(launcher, pb, SCRIPT, probe);
            // control: the same shell writes where it may (its workspace), so the refusals above are the root's
            assertThat(ra.out()).as(ra.toString()).startsWith("from the image\n").doesNotContain("wrote", "sees-").contains("workspace-writable");
            assertThat(rb.out()).as(rb.toString()).startsWith("the second image\n").doesNotContain("wrote", "sees-").contains("workspace-writable");
        } finally {
            launcher.destroy(pa);
            launcher.destroy(pb);
        }
    }

    @Test
    void check_imageRootAfterAnotherMount_refused_firstPasses() throws Exception {
        ImageStore.Unpacked image = launcher.images().unpack(testImage, Optional.of("test"), Optional.empty());
        Path run = Path.of("/run/airlock/sandbox/alk0123abcd/etc");
        SandboxUser u = new SandboxUser(1000, 1000);
        List<String> good = BwrapArgs.build(u, Path.of("/srv/ws"), run, EtcFiles.generated(u, dev.airlock.policy.address.Cidr.of("100.96.0.1")
                .network()), java.util.Map.of(), List.of(), Optional.of(image.root()));
        BwrapArgs.check(good, 1000, 1000, run);
        List<String> late = new ArrayList<>(good);
        int i = late.indexOf(image.root().toString()) - 1;
        List<String> bind = new ArrayList<>(late.subList(i, i + 3));
        late.subList(i, i + 3).clear();
        int proc = late.indexOf("--proc");
        late.addAll(proc + 2, bind);
        assertThatThrownBy(() -> BwrapArgs.check(late, 1000, 1000, run)).isInstanceOf(SandboxException.class)
                .hasMessageContaining("an unpacked image at / (first)");
    }

    @Test
    void collect_unusedPastGrace_removed_inUseOrRecent_kept() throws Exception {
        Path other = Files.createDirectories(tmp.resolve("gc-state")).toRealPath();
        ImageStore store = new ImageStore(other, launcher.kernel());
        Path oldLayout = tmp.resolve("gc-old");
        TestLayouts.layout(oldLayout, "t", List.of(Entry.file("old", "x")));
        Path recentLayout = tmp.resolve("gc-recent");
        TestLayouts.layout(recentLayout, "t", List.of(Entry.file("recent", "x")));
        ImageStore.Unpacked old = store.unpack(oldLayout, Optional.of("t"), Optional.empty());
        ImageStore.Unpacked recent = store.unpack(recentLayout, Optional.of("t"), Optional.empty());
        Files.setLastModifiedTime(old.root().resolveSibling(ImageStore.MARKER),
                java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(java.time.Duration.ofDays(2))));

        assertThat(store.collect(java.time.Duration.ofDays(1))).containsExactly(old.digest());
        assertThat(old.root()).doesNotExist();
        assertThat(recent.root()).exists();
        assertThat(store.digests()).containsExactly(recent.digest());
        // used again: it is unpacked anew
        assertThat(store.unpack(oldLayout, Optional.of("t"), Optional.empty()).root()).exists();
    }

    @Test
    void collect_imageASandboxRunsOn_keptEvenPastGrace() throws Exception {
        ImageStore.Unpacked image = launcher.images().unpack(testImage, Optional.of("test"), Optional.empty());
        PreparedSandbox p = launcher.prepare(new SandboxSpec("img", KernelSupport.workspace(tmp, "ws-gc"), RES, PORTS).withImage(image.root()));
        try (SandboxShell sh = new SandboxShell(launcher, p)) {
            assertThat(sh.exec("echo up", SCRIPT).out()).contains("up");
            Files.setLastModifiedTime(image.root().resolveSibling(ImageStore.MARKER),
                    java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(java.time.Duration.ofDays(2))));
            assertThat(launcher.images().collect(java.time.Duration.ofDays(1))).doesNotContain(image.digest());
            assertThat(image.root()).exists();
        } finally {
            launcher.destroy(p);
        }
        // control: the same image, once no sandbox runs on it, goes
        assertThat(launcher.images().collect(java.time.Duration.ofDays(1))).contains(image.digest());
        assertThat(image.root()).doesNotExist();
    }

    @Test
    void prepare_imageOfAnotherStore_refused() throws Exception {
        Path foreign = Files.createDirectories(tmp.resolve("other/images/sha256-" + "b".repeat(64) + "/rootfs"));
        assertThatThrownBy(() -> launcher.prepare(new SandboxSpec("img", KernelSupport.workspace(tmp, "ws-f"), RES, PORTS).withImage(foreign)))
                .isInstanceOf(SandboxException.class).hasMessageContaining("is not an unpacked image of");
    }

    @Test
    void prepare_stateDirectoryTheSandboxUserCannotEnter_refusedNamingTheFix() throws Exception {
        ImageStore.Unpacked image = launcher.images().unpack(testImage, Optional.of("test"), Optional.empty());
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwx------"));
        try {
            assertThatThrownBy(() -> launcher.prepare(new SandboxSpec("img", KernelSupport.workspace(tmp, "ws-0700"), RES, PORTS)
                    .withImage(image.root()))).isInstanceOf(SandboxException.class)
                    .hasMessageContaining("cannot reach the image root").hasMessageContaining(state.toRealPath() + " is not searchable")
                    .hasMessageContaining("Fix: chmod o+x");
        } finally {
            Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        // control: the same image once the state directory is searchable again
        PreparedSandbox p = launcher.prepare(new SandboxSpec("img", KernelSupport.workspace(tmp, "ws-0755"), RES, PORTS).withImage(image.root()));
        launcher.destroy(p);
    }
}
