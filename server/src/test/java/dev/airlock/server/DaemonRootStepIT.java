package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A template's {@code root: true} setup step in the daemon (docs/images.md, "Setup as root"),
 * against the real kernel: {@code dpkg -i} of a tiny package built with dpkg-deb runs as root of
 * the setup sandbox's user namespace into the template's root layer; the next, unprivileged step
 * runs the installed tool; the layer is sealed root's; a pooled member stacks it and runs the tool
 * as the sandbox user, and can neither change it nor run dpkg (the control: the same {@code dpkg -i}
 * that root of the namespace ran is refused to the member). The image is built offline by
 * scripts/make-test-image.sh with AIRLOCK_TEST_IMAGE_DPKG=1.
 */
class DaemonRootStepIT {

    @TempDir
    Path tmp;

    @BeforeAll
    static void root() {
        Root.require();
    }

    private static void sh(Path dir, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(List.of(cmd) + ": " + out).isZero();
    }

    @Test
    void rootStep_dpkgInstallsIntoTheLayer_laterStepAndPooledMemberRunTheToolUnprivileged() throws Exception {
        Path cwd = Path.of("").toAbsolutePath();
        Path images = Files.createDirectories(cwd.resolve("target/test-images"));
        sh(cwd, "env", "AIRLOCK_TEST_IMAGE_DPKG=1", "../scripts/make-test-image.sh", images.resolve("devbox-dpkg").toString(), "test", "with dpkg");
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        Path deb = Files.createDirectories(tmp.resolve("deb/DEBIAN"));
        Files.writeString(deb.resolve("control"), "Package: alk-tiny\nVersion: 1.0\nArchitecture: all\n"
                + "Maintainer: Airlock tests <tests@airlock.invalid>\nDescription: a tool the image lacks\n");
        Path bin = Files.createDirectories(tmp.resolve("deb/usr/local/bin"));
        Files.writeString(bin.resolve("alk-tiny"), "#!/bin/sh\necho tiny-ok\n");
        Files.setPosixFilePermissions(bin.resolve("alk-tiny"), PosixFilePermissions.fromString("rwxr-xr-x"));
        sh(tmp, "dpkg-deb", "--root-owner-group", "--build", tmp.resolve("deb").toString(), src.resolve("alk-tiny.deb").toString());
        sh(src, "git", "init", "-q", "-b", "main");
        sh(src, "git", "add", "-A");
        sh(src, "git", "-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-q", "-m", "first");
        Path img = Files.createDirectories(tmp.resolve("img"));
        sh(cwd, "cp", "-a", images.resolve("devbox-dpkg").toString(), img.resolve("devbox").toString());
        Path config = DaemonFixture.write(tmp, 1, 4);
        Files.writeString(tmp.resolve("airlock.yaml"), Files.readString(tmp.resolve("airlock.yaml")) + String.join("\n",
                "image: { oci: img/devbox, tag: test }",
                "workspace:",
                "  source: " + src,
                "  ref: main",
                "  setup:",
                "    - {run: \"dpkg -i alk-tiny.deb\", root: true}",
                "    - \"alk-tiny > built.txt && id -u >> built.txt\"", ""));
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err, "it")) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "the template built with its root layer and a member warm");

            ByteArrayOutputStream out = new ByteArrayOutputStream();
            JsonNode last = c.run("daemon-it", List.of("/bin/sh", "-c", "cat built.txt; alk-tiny; id -u;"
                    + " (echo x > /usr/local/bin/alk-tiny) 2>/dev/null && echo overwrote; dpkg -i alk-tiny.deb >/dev/null 2>&1 || echo dpkg-refused"),
                    Map.of(), new ByteArrayInputStream(new byte[0]), out, OutputStream.nullOutputStream(), s -> { });
            String text = out.toString(StandardCharsets.UTF_8);
            assertThat(last.path("exit").asInt()).as(text).isZero();
            String uid = Integer.toString(dev.airlock.sandbox.SandboxUser.current().uid());
            // the later setup step ran the tool as the sandbox user; so does the member; neither root nor dpkg is the member's
            assertThat(text).isEqualTo("tiny-ok\n" + uid + "\ntiny-ok\n" + uid + "\ndpkg-refused\n");
        }
        // The sealed layer is root's and writable by no one else.
        Path project = tmp.resolve("state/templates/daemon-it");
        try (Stream<Path> layers = Files.list(project)) {
            List<Path> sealed = layers.filter(p -> p.getFileName().toString().startsWith("root-")).map(p -> p.resolve("layer")).toList();
            assertThat(sealed).hasSize(1);
            Path tool = sealed.get(0).resolve("usr/local/bin/alk-tiny");
            assertThat((Integer) Files.getAttribute(tool, "unix:uid", LinkOption.NOFOLLOW_LINKS)).isZero();
            assertThat((Integer) Files.getAttribute(tool, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07022).isZero();
        }
        assertThat(DaemonFixture.leasesOf(ProcessHandle.current().pid())).isEmpty();
    }
}
