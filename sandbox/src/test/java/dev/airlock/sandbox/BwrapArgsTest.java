package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.policy.address.Cidr;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BwrapArgsTest {

    private static final SandboxUser USER = new SandboxUser(1000, 1000);
    private static final Path RUN = Path.of("/run/airlock/sandbox/alk0123abcd/etc");

    private static List<String> build(Map<String, String> env) {
        return BwrapArgs.build(USER, Path.of("/srv/payments"), Path.of("/run/airlock/sandbox/alk0123abcd/etc"),
                EtcFiles.generated(USER, Cidr.of("100.96.0.1").network()), env);
    }

    @Test
    void build_passesThePrivilegedCheck() throws SandboxException {
        BwrapArgs.check(build(Map.of()), 1000, 1000, RUN);
        BwrapArgs.check(build(Map.of("A", "--cap-add")), 1000, 1000, RUN);
    }

    @Test
    void build_bindsOnlySystemDirsTheCuratedEtcTheHomeAndTheWorkspace() {
        List<String> a = build(Map.of());
        List<String> sources = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) {
            if (a.get(i).startsWith("--") && a.get(i).contains("bind")) {
                sources.add(a.get(i + 1));
            }
        }
        assertThat(sources).allMatch(s -> s.equals("/usr") || s.matches("/(bin|sbin|lib|lib32|lib64|libx32)")
                || s.startsWith("/etc/") || s.startsWith("/run/airlock/sandbox/alk0123abcd/etc/") || s.equals("/run/airlock/sandbox/alk0123abcd/home")
                || s.equals("/srv/payments"));
        assertThat(sources).doesNotContain("/", "/etc", "/root", "/home", "/run", "/var", "/var/lib/airlock", "/etc/shadow",
                "/etc/passwd", "/run/docker.sock", "/sys", "/proc");
        String joined = String.join(" ", a);
        assertThat(joined).contains("--ro-bind /run/airlock/sandbox/alk0123abcd/etc/passwd /etc/passwd",
                "--ro-bind /run/airlock/sandbox/alk0123abcd/etc/resolv.conf /etc/resolv.conf",
                "--proc /proc --dev /dev --tmpfs /tmp --bind /run/airlock/sandbox/alk0123abcd/home /home/airlock"
                        + " --bind /srv/payments /workspace --chdir /workspace --remount-ro /");
    }

    @Test
    void environment_home_isOutsideTheWorkspace_andPasswdSaysTheSame() {
        assertThat(BwrapArgs.environment(Map.of())).containsEntry("HOME", "/home/airlock");
        assertThat(EtcFiles.generated(USER, Cidr.of("100.96.0.5").network()).get("passwd"))
                .contains("airlock:x:1000:1000:Airlock sandbox:/home/airlock:/bin/sh\n");
    }

    @Test
    void check_aHomeOtherThanTheSandboxsOwn_isRefused() {
        for (String source : List.of("/srv/payments", "/run/airlock/sandbox/alk99999999/home", "/root", "/home")) {
            List<String> a = new ArrayList<>(build(Map.of()));
            a.set(a.lastIndexOf("/home/airlock") - 1, source);
            assertThatThrownBy(() -> BwrapArgs.check(a, 1000, 1000, RUN)).as(source).isInstanceOf(SandboxException.class)
                    .hasMessageContaining("/home/airlock");
        }
    }

    @Test
    void build_newSession_always() {
        assertThat(build(Map.of())).contains("--new-session");
    }

    @Test
    void check_withoutNewSession_isRefused() {
        List<String> a = new ArrayList<>(build(Map.of()));
        a.remove("--new-session");
        assertThatThrownBy(() -> BwrapArgs.check(a, 1000, 1000, RUN)).isInstanceOf(SandboxException.class).hasMessageContaining("--new-session");
    }

    @Test
    void environment_defaultsThenTheCallers_andNothingElse() {
        List<String> a = build(Map.of("HOME", "/workspace/h", "TERM", "dumb"));
        assertThat(a.indexOf("--clearenv")).isLessThan(a.indexOf("--setenv"));
        assertThat(BwrapArgs.environment(Map.of("HOME", "/workspace/h"))).containsOnlyKeys("PATH", "HOME", "USER", "LOGNAME",
                "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO", "CURL_CA_BUNDLE", "NPM_CONFIG_CAFILE")
                .containsEntry("HOME", "/workspace/h").containsEntry("USER", "airlock");
    }

    @Test
    void environment_everyToolsCaVariable_namesTheOneBundle_unlessTheCallerSetsItsOwn() {
        Map<String, String> env = BwrapArgs.environment(Map.of("GIT_SSL_CAINFO", "/workspace/own.pem"));

        assertThat(env).containsEntry("NPM_CONFIG_CAFILE", "/etc/ssl/certs/ca-certificates.crt")
                .containsEntry("NODE_EXTRA_CA_CERTS", "/etc/ssl/certs/ca-certificates.crt")
                .containsEntry("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
                .containsEntry("GIT_SSL_CAINFO", "/workspace/own.pem");
    }

    @Test
    void build_caBundle_isBoundReadOnlyOverDebiansPathAfterTheHostsEtcSsl() throws SandboxException {
        List<String> a = build(Map.of());
        String joined = String.join(" ", a);

        assertThat(joined).contains("--ro-bind /run/airlock/sandbox/alk0123abcd/etc/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt");
        assertThat(a.lastIndexOf("/etc/ssl/certs/ca-certificates.crt")).isGreaterThan(a.indexOf("/etc/ssl"));
        BwrapArgs.check(a, 1000, 1000, RUN);
    }

    @Test
    void check_anotherFileAtTheCaBundlesPath_isRefused() {
        List<String> a = new ArrayList<>(build(Map.of()));
        a.set(a.lastIndexOf("/etc/ssl/certs/ca-certificates.crt") - 1, "/srv/payments/evil.pem");

        assertThatThrownBy(() -> BwrapArgs.check(a, 1000, 1000, RUN)).isInstanceOf(SandboxException.class)
                .hasMessageContaining("/srv/payments/evil.pem");
    }

    @Test
    void checkEnvironment_refusesNamesWithEqualsOrNul() {
        assertThatThrownBy(() -> BwrapArgs.checkEnvironment(Map.of("A=B", "x"))).isInstanceOf(SandboxException.class);
        assertThatThrownBy(() -> BwrapArgs.checkEnvironment(Map.of("", "x"))).isInstanceOf(SandboxException.class);
        assertThatThrownBy(() -> BwrapArgs.checkEnvironment(Map.of("A", "x\0y"))).isInstanceOf(SandboxException.class);
    }

    @Test
    void check_refusesTheRootUserAndAMissingFinalRemount() {
        assertThatThrownBy(() -> BwrapArgs.check(build(Map.of()), 0, 0, RUN)).isInstanceOf(SandboxException.class);
        List<String> a = new ArrayList<>(build(Map.of()));
        a.subList(a.size() - 2, a.size()).clear();
        assertThatThrownBy(() -> BwrapArgs.check(a, 1000, 1000, RUN)).hasMessageContaining("--remount-ro /");
        List<String> b = new ArrayList<>(build(Map.of()));
        b.addAll(b.size() - 2, List.of("--tmpfs", "/proc"));
        assertThatThrownBy(() -> BwrapArgs.check(b, 1000, 1000, RUN)).hasMessageContaining("--tmpfs only at /tmp");
        List<String> c = new ArrayList<>(build(Map.of()));
        c.add(c.size() - 2, "--setenv");
        assertThatThrownBy(() -> BwrapArgs.check(c, 1000, 1000, RUN)).isInstanceOf(SandboxException.class);
        for (List<String> bind : List.of(List.of("--ro-bind", "/run/docker.sock", "/run/docker.sock"), List.of("--ro-bind", "/", "/host"),
                List.of("--ro-bind-try", "/etc/shadow", "/etc/shadow"), List.of("--ro-bind", "/etc/ssl", "/usr"),
                List.of("--ro-bind", "/run/airlock/sandbox/alk99999999/etc/passwd", "/etc/passwd"),
                List.of("--ro-bind", "/run/airlock/sandbox/alk0123abcd/etc/../../../../etc/shadow", "/etc/passwd"),
                List.of("--symlink", "usr/bin", "/workspace"), List.of("--dir", "/proc/x"))) {
            List<String> d = new ArrayList<>(build(Map.of()));
            d.addAll(d.size() - 2, bind);
            assertThatThrownBy(() -> BwrapArgs.check(d, 1000, 1000, RUN)).as(bind.toString()).isInstanceOf(SandboxException.class);
        }
    }

    private static List<String> onImage(Path root) {
        return BwrapArgs.build(USER, Path.of("/srv/payments"), RUN, EtcFiles.generated(USER, Cidr.of("100.96.0.1").network()), Map.of(),
                List.of(), java.util.Optional.of(root));
    }

    @Test
    void build_withoutImage_isTodaysHostRoot() {
        assertThat(BwrapArgs.build(USER, Path.of("/srv/payments"), RUN, EtcFiles.generated(USER, Cidr.of("100.96.0.1").network()), Map.of(),
                List.of(), java.util.Optional.empty())).isEqualTo(build(Map.of()));
    }

    @Test
    void build_onImage_bindsTheImageAtRootFirstAndNoHostDirectory() {
        Path root = Path.of("/var/lib/airlock/images/sha256-" + "a".repeat(64) + "/rootfs");
        List<String> a = onImage(root);
        int first = a.indexOf("--ro-bind");
        assertThat(a.subList(first, first + 3)).containsExactly("--ro-bind", root.toString(), "/");
        assertThat(a).doesNotContain("/usr", "--ro-bind-try", "--symlink", "--dir");
        assertThat(a.subList(a.size() - 2, a.size())).containsExactly("--remount-ro", "/");
    }

    @Test
    void build_onImage_hasTheSameCaBundleHomeAndWorkspaceAsTheHostRoot() {
        List<String> image = onImage(Path.of("/var/lib/airlock/images/sha256-" + "a".repeat(64) + "/rootfs"));
        List<String> host = build(Map.of());
        // What lies over the root is the same on both: the CA bundle, the home, the workspace, in that order.
        List<String> tail = host.subList(host.lastIndexOf(CaBundle.PATH_IN_SANDBOX) - 2, host.size());
        assertThat(tail).contains(BwrapArgs.HOME, "/workspace");
        assertThat(image.subList(image.size() - tail.size(), image.size())).isEqualTo(tail);
    }

    @Test
    void check_imageRoot_refusedUnlessAnUnpackedImageBoundFirst() {
        // Neither exists on this machine's disk as a store entry (isImageRoot reads the disk): refused.
        for (String root : List.of("/", "/usr", "/var/lib/airlock/images/sha256-" + "a".repeat(64) + "/rootfs",
                "/var/lib/airlock/images/sha256-" + "a".repeat(64) + "/rootfs/../../..", "/home/me/images/sha256-abc/rootfs",
                "/var/lib/airlock/images/sha256-" + "a".repeat(64))) {
            List<String> a = onImage(Path.of("/srv/x"));
            a = new ArrayList<>(a);
            a.set(a.indexOf("/srv/x"), root);
            List<String> args = a;
            assertThatThrownBy(() -> BwrapArgs.check(args, 1000, 1000, RUN)).as(root).isInstanceOf(SandboxException.class)
                    .hasMessageContaining("an unpacked image at / (first)");
        }
        assertThat(ImageStore.ROOT_SHAPE.matcher("/var/lib/airlock/images/sha256-" + "a".repeat(64) + "/rootfs").matches()).isTrue();
        assertThat(ImageStore.ROOT_SHAPE.matcher("/var/lib/airlock/images/sha256-" + "a".repeat(63) + "/rootfs").matches()).isFalse();
        assertThat(ImageStore.ROOT_SHAPE.matcher("/var/lib/airlock/imagesX/sha256-" + "a".repeat(64) + "/rootfs").matches()).isFalse();
    }

    @Test
    void etc_generatedFiles_nameTheUserAndTheOnlyResolver() {
        Map<String, String> f = EtcFiles.generated(USER, Cidr.of("100.96.0.5").network());
        assertThat(f.get("resolv.conf").lines().filter(l -> l.startsWith("nameserver"))).containsExactly("nameserver 100.96.0.5");
        assertThat(f.get("passwd")).contains("airlock:x:1000:1000:Airlock sandbox:/home/airlock:/bin/sh\n");
        assertThat(f.get("group")).contains("airlock:x:1000:\n");
        assertThat(f).doesNotContainKeys("shadow", "gshadow", "sudoers");
        assertThat(EtcFiles.HOST_ENTRIES).doesNotContain("shadow", "gshadow", "sudoers", "ssh", "airlock", "passwd", "group");
    }

    @Test
    void sandboxUser_fromSudo_elseNobody_neverRoot() {
        assertThat(SandboxUser.fromEnvironment(Map.of("SUDO_UID", "1001", "SUDO_GID", "1002"))).isEqualTo(new SandboxUser(1001, 1002));
        assertThat(SandboxUser.fromEnvironment(Map.of())).isEqualTo(new SandboxUser(65534, 65534));
        assertThat(SandboxUser.fromEnvironment(Map.of("SUDO_UID", "0", "SUDO_GID", "0"))).isEqualTo(new SandboxUser(65534, 65534));
        assertThat(SandboxUser.fromEnvironment(Map.of("SUDO_UID", "1000"))).isEqualTo(new SandboxUser(65534, 65534));
        assertThat(SandboxUser.fromEnvironment(Map.of("SUDO_UID", "-5", "SUDO_GID", "x"))).isEqualTo(new SandboxUser(65534, 65534));
        assertThatThrownBy(() -> new SandboxUser(0, 1000)).isInstanceOf(IllegalArgumentException.class);
    }

    /** {@code a} with the operand of {@code option} replaced by {@code value}. */
    private static List<String> with(List<String> a, String option, String value) {
        List<String> out = new ArrayList<>(a);
        out.set(out.indexOf(option) + 1, value);
        return out;
    }

    @Test
    void check_uidOrGidZeroWithoutASetupRoot_isRefused_theSandboxUserPasses() throws SandboxException {
        List<String> a = build(Map.of());
        BwrapArgs.check(a, 1000, 1000, RUN, Set::of);
        assertThatThrownBy(() -> BwrapArgs.check(with(a, "--uid", "0"), 1000, 1000, RUN, Set::of)).isInstanceOf(SandboxException.class)
                .hasMessageContaining("--uid must be 1000");
        assertThatThrownBy(() -> BwrapArgs.check(with(a, "--gid", "0"), 1000, 1000, RUN, Set::of)).isInstanceOf(SandboxException.class)
                .hasMessageContaining("--gid must be 1000");
    }

    @Test
    void check_aWritableRootThatIsNotThisSandboxsSetupRoot_isRefused() throws SandboxException {
        List<String> a = build(Map.of());
        BwrapArgs.check(a, 1000, 1000, RUN, Set::of);
        Path mounted = Path.of("/var/lib/airlock/setup-roots/alk99999999");
        for (String source : List.of("/", "/usr", "/var/lib/airlock/templates/demo/root-0123abcd/upper", mounted.toString(),
                "/var/lib/airlock/setup-roots/alk0123abcd")) {
            List<String> b = new ArrayList<>(with(with(a, "--uid", "0"), "--gid", "0"));
            int first = b.indexOf("--ro-bind");
            b.addAll(first, List.of("--bind", source, "/"));
            b.subList(b.size() - 2, b.size()).clear(); // no --remount-ro: a root step's root stays writable
            assertThatThrownBy(() -> BwrapArgs.check(b, 1000, 1000, RUN, () -> Set.of(mounted))).as(source)
                    .isInstanceOf(SandboxException.class).hasMessageContaining("a writable root is only this sandbox's setup root");
        }
    }

    @Test
    void check_aStackedRootOfAnotherSandbox_isRefused() throws SandboxException {
        List<String> a = build(Map.of());
        List<String> b = new ArrayList<>(a);
        b.addAll(b.indexOf("--ro-bind"), List.of("--ro-bind", "/var/lib/airlock/roots/alk99999999", "/"));
        assertThatThrownBy(() -> BwrapArgs.check(b, 1000, 1000, RUN, () -> Set.of(Path.of("/var/lib/airlock/roots/alk99999999"))))
                .isInstanceOf(SandboxException.class).hasMessageContaining("read-only binds are an unpacked image at /");
    }
}
