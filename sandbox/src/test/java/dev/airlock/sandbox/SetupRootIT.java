package dev.airlock.sandbox;

import static dev.airlock.sandbox.KernelSupport.inSandbox;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Setup steps as root inside the sandbox's user namespace (docs/images.md, "Setup as root"),
 * against the real kernel: a root step installs into the project's root layer, the layer is sealed
 * root's and inert, and a later sandbox stacking it runs what was installed as the sandbox user.
 * Controls: the same step without {@code root: true} cannot write the image; the host finds the
 * step's files owned by the sandbox uid, never 0, until the seal; nothing of the sealed layer is
 * writable by the sandbox; {@code dpkg -i} as the sandbox user is refused where root of the
 * namespace installs the package. Needs root, umoci and dpkg-deb; with {@code CI=true} a machine
 * without them fails, elsewhere the class is skipped.
 */
class SetupRootIT {

    private static final GatewayPorts PORTS = new GatewayPorts(15001, 15053);
    private static final Resources RES = new Resources(256L << 20, 1, 128);
    private static final Duration SCRIPT = Duration.ofSeconds(60);
    private static final String PROJECT = "rootstep";
    private static final String INSTALL = "printf '#!/bin/sh\\necho tiny-ok\\n' > /usr/local/bin/alk-tiny && chmod 755 /usr/local/bin/alk-tiny"
            + " && echo installed";

    @TempDir
    static Path tmp;
    static Path state;
    static SandboxLauncher launcher;
    static CgroupLayout layout;
    /** The test image with dpkg and the few tools a root step uses (chmod, cp…): AIRLOCK_TEST_IMAGE_DPKG=1. */
    static ImageStore.Unpacked image;
    static SandboxUser user;

    @BeforeAll
    static void setUp() throws Exception {
        KernelSupport.requireRoot("nsenter", "ip", "nft", "umoci", "dpkg-deb");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        state = Files.createDirectories(tmp.resolve("state"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
        launcher = SandboxLauncher.system(state);
        layout = KernelOps.system().cgroups();
        user = SandboxUser.fromEnvironment(System.getenv());
        Path withDpkg = Path.of("target", "test-images", "devbox-dpkg").toAbsolutePath();
        Files.createDirectories(withDpkg.getParent());
        KernelSupport.admin("env", "AIRLOCK_TEST_IMAGE_DPKG=1", "../scripts/make-test-image.sh", withDpkg.toString(), "test", "with dpkg");
        image = launcher.images().unpack(withDpkg, Optional.of("test"), Optional.empty());
    }

    @AfterAll
    static void tearDown() {
        if (launcher != null) {
            launcher.close();
            assertThat(KernelSupport.leftovers(layout)).isEmpty();
        }
    }

    private static String newLayer() {
        return HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    }

    private static SandboxSpec spec(String ws, ImageStore.Unpacked on, RootLayer layer) throws Exception {
        return new SandboxSpec(PROJECT, KernelSupport.workspace(tmp, ws), RES, PORTS).withImage(on.root()).withRootLayer(layer);
    }

    private static KernelSupport.Result run(SandboxSpec spec, String script) throws Exception {
        PreparedSandbox p = launcher.prepare(spec);
        try {
            return inSandbox(launcher, p, SCRIPT, script);
        } finally {
            launcher.destroy(p);
        }
    }

    private static int uidOf(Path p) throws Exception {
        return (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    }

    private static List<Path> tree(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return new ArrayList<>(s.toList());
        }
    }

    @Test
    void rootStep_installsIntoTheLayer_sealedLayerIsRootsAndInert_laterSandboxRunsItAsTheSandboxUser() throws Exception {
        String layer = newLayer();
        // Control: the same step without root: true meets the read-only image.
        KernelSupport.Result plain = run(spec("ws-plain", image, RootLayer.NONE), INSTALL);
        assertThat(plain.out()).as(plain.toString()).doesNotContain("installed");
        assertThat(plain.err()).containsAnyOf("Read-only file system", "Permission denied");

        KernelSupport.Result root = run(spec("ws-root", image, new RootLayer.Writable(layer)), "id -u; id -g; " + INSTALL + "; alk-tiny");
        assertThat(root.out()).as(root.toString()).startsWith("0\n0\n").contains("installed").contains("tiny-ok");

        // The host side: the step's files are the sandbox uid's, none is root's, and the image is untouched.
        Path upper = RootLayers.upper(state.toRealPath(), PROJECT, layer);
        assertThat(uidOf(upper.resolve("usr/local/bin/alk-tiny"))).isEqualTo(user.uid());
        for (Path p : tree(upper)) {
            assertThat(uidOf(p)).as(p.toString()).isEqualTo(user.uid());
        }
        assertThat(image.root().resolve("usr/local/bin/alk-tiny")).doesNotExist();
        assertThat(RootLayers.setupMount(state.toRealPath(), "alk00000000").getParent()).isDirectory();
        try (Stream<Path> s = Files.list(RootLayers.setupMount(state.toRealPath(), "alk00000000").getParent())) {
            assertThat(s.toList()).as("the setup root is gone with its sandbox").isEmpty();
        }

        launcher.sealRootLayer(PROJECT, layer);
        Path sealed = RootLayers.sealed(state.toRealPath(), PROJECT, layer);
        assertThat(upper).doesNotExist();
        for (Path p : tree(sealed)) {
            assertThat(uidOf(p)).as(p.toString()).isZero();
            if (!Files.isSymbolicLink(p)) {
                assertThat((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07022).as(p.toString()).isZero();
            }
        }
        assertThatThrownBy(() -> launcher.prepare(spec("ws-again", image, new RootLayer.Writable(layer))))
                .isInstanceOf(SandboxException.class).hasMessageContaining("is sealed");

        KernelSupport.Result later = run(spec("ws-later", image, new RootLayer.Stacked(layer)),
                "id -u; alk-tiny; (echo x > /usr/local/bin/alk-tiny) 2>/dev/null && echo overwrote;"
                        + " (rm -f /usr/local/bin/alk-tiny) 2>/dev/null && echo removed; (echo x > /usr/local/bin/new) 2>/dev/null && echo created;"
                        + " echo ws > /workspace/f && echo wrote-ws");
        assertThat(later.out()).as(later.toString()).startsWith(user.uid() + "\n").contains("tiny-ok").doesNotContain("overwrote")
                .doesNotContain("removed").doesNotContain("created").contains("wrote-ws");
        // Control: the image without the layer has no such tool.
        KernelSupport.Result bare = run(spec("ws-bare", image, RootLayer.NONE), "alk-tiny || echo absent");
        assertThat(bare.out()).as(bare.toString()).contains("absent").doesNotContain("tiny-ok");
    }

    @Test
    void dpkgInstall_asRootOfTheNamespace_installs_asTheSandboxUser_isRefused() throws Exception {
        Path deb = tinyDeb();
        Path ws = KernelSupport.workspace(tmp, "ws-dpkg-user");
        Files.copy(deb, ws.resolve("alk-tiny.deb"));
        // Control: the sandbox user, on the image, cannot install.
        PreparedSandbox asUser = launcher.prepare(new SandboxSpec(PROJECT, ws, RES, PORTS).withImage(image.root()));
        KernelSupport.Result refused;
        try {
            refused = inSandbox(launcher, asUser, SCRIPT, "dpkg -i /workspace/alk-tiny.deb; echo exit=$?");
        } finally {
            launcher.destroy(asUser);
        }
        assertThat(refused.out() + refused.err()).as(refused.toString()).contains("superuser").doesNotContain("exit=0")
                .doesNotContain("Setting up alk-tiny");

        String layer = newLayer();
        Path rootWs = KernelSupport.workspace(tmp, "ws-dpkg-root");
        Files.copy(deb, rootWs.resolve("alk-tiny.deb"));
        PreparedSandbox asRoot = launcher.prepare(new SandboxSpec(PROJECT, rootWs, RES, PORTS).withImage(image.root())
                .withRootLayer(new RootLayer.Writable(layer)));
        KernelSupport.Result installed;
        try {
            installed = inSandbox(launcher, asRoot, SCRIPT, "dpkg -i /workspace/alk-tiny.deb; echo exit=$?");
        } finally {
            launcher.destroy(asRoot);
        }
        assertThat(installed.out()).as(installed.toString()).contains("exit=0");
        Path upper = RootLayers.upper(state.toRealPath(), PROJECT, layer);
        assertThat(uidOf(upper.resolve("usr/local/bin/alk-tiny"))).isEqualTo(user.uid());
        assertThat(uidOf(upper.resolve("var/lib/dpkg/info/alk-tiny.list"))).isEqualTo(user.uid());
        for (Path p : tree(upper)) {
            assertThat(uidOf(p)).as(p.toString()).isEqualTo(user.uid());
        }
        launcher.sealRootLayer(PROJECT, layer);
        PreparedSandbox later = launcher.prepare(new SandboxSpec(PROJECT, KernelSupport.workspace(tmp, "ws-dpkg-later"), RES, PORTS)
                .withImage(image.root()).withRootLayer(new RootLayer.Stacked(layer)));
        try {
            KernelSupport.Result r = inSandbox(launcher, later, SCRIPT, "id -u; alk-tiny; dpkg -s alk-tiny | grep Status");
            assertThat(r.out()).as(r.toString()).startsWith(user.uid() + "\n").contains("tiny-ok").contains("install ok installed");
        } finally {
            launcher.destroy(later);
        }
    }

    @Test
    void check_setupRoot_passesOnlyWithUidZeroAndStaysWritable_forThisSandboxAlone() throws Exception {
        String layer = newLayer();
        PreparedSandbox p = launcher.prepare(spec("ws-check", image, new RootLayer.Writable(layer)));
        PreparedSandbox other = launcher.prepare(spec("ws-check-other", image, RootLayer.NONE));
        try {
            // One writer per layer: a second setup root on the same upper directory, and a seal meanwhile, are refused.
            assertThatThrownBy(() -> launcher.prepare(spec("ws-check-twice", image, new RootLayer.Writable(layer))))
                    .isInstanceOf(SandboxException.class).hasMessageContaining("is mounted by another setup step");
            assertThatThrownBy(() -> launcher.sealRootLayer(PROJECT, layer)).isInstanceOf(SandboxException.class)
                    .hasMessageContaining("still mounted by a setup step");
            Path mount = RootLayers.setupMount(state.toRealPath(), p.id());
            Path etc = SystemKernelOps.RUN_DIR.resolve(p.id()).resolve("etc");
            List<String> args = BwrapArgs.buildOn(user, p.workspace(), etc, EtcFiles.generated(user, p.hostAddress()), Map.of(), List.of(),
                    Optional.of(new BwrapArgs.Root(mount, true)));
            BwrapArgs.check(args, user.uid(), user.gid(), etc);

            List<String> asUser = new ArrayList<>(args);
            asUser.set(asUser.indexOf("--uid") + 1, Integer.toString(user.uid()));
            asUser.set(asUser.indexOf("--gid") + 1, Integer.toString(user.gid()));
            assertThatThrownBy(() -> BwrapArgs.check(asUser, user.uid(), user.gid(), etc)).as("an unprivileged command on the writable root")
                    .isInstanceOf(SandboxException.class).hasMessageContaining("only for a root step");
            List<String> remounted = new ArrayList<>(args);
            remounted.addAll(List.of("--remount-ro", "/"));
            assertThatThrownBy(() -> BwrapArgs.check(remounted, user.uid(), user.gid(), etc)).isInstanceOf(SandboxException.class);
            assertThatThrownBy(() -> BwrapArgs.check(args, 0, 0, etc)).as("launched as the host's root")
                    .isInstanceOf(SandboxException.class).hasMessageContaining("never as uid or gid 0");
            Path otherEtc = SystemKernelOps.RUN_DIR.resolve(other.id()).resolve("etc");
            assertThatThrownBy(() -> BwrapArgs.check(args, user.uid(), user.gid(), otherEtc)).as("another sandbox's launch")
                    .isInstanceOf(SandboxException.class).hasMessageContaining("a writable root is only this sandbox's setup root");
            List<String> readOnly = new ArrayList<>(args);
            readOnly.set(readOnly.indexOf("--bind"), "--ro-bind");
            assertThatThrownBy(() -> BwrapArgs.check(readOnly, user.uid(), user.gid(), etc)).as("the setup root bound read-only at /")
                    .isInstanceOf(SandboxException.class);
        } finally {
            launcher.destroy(p);
            launcher.destroy(other);
        }
    }

    /** A tiny Debian package that installs /usr/local/bin/alk-tiny, built with dpkg-deb. */
    private static Path tinyDeb() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("deb-src"));
        Files.createDirectories(src.resolve("DEBIAN"));
        Files.writeString(src.resolve("DEBIAN/control"), "Package: alk-tiny\nVersion: 1.0\nArchitecture: all\n"
                + "Maintainer: Airlock tests <tests@airlock.invalid>\nDescription: a tool the image lacks\n");
        Path bin = Files.createDirectories(src.resolve("usr/local/bin"));
        Files.writeString(bin.resolve("alk-tiny"), "#!/bin/sh\necho tiny-ok\n");
        Files.setPosixFilePermissions(bin.resolve("alk-tiny"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Path deb = tmp.resolve("alk-tiny.deb");
        KernelSupport.admin("dpkg-deb", "--root-owner-group", "--build", src.toString(), deb.toString());
        Files.setPosixFilePermissions(deb, PosixFilePermissions.fromString("rw-r--r--"));
        return deb;
    }
}
