package dev.airlock.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.sandbox.LinkSafeFiles;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cold {@code airlock run} of a project with {@code image:} (docs/images.md), against the real
 * kernel: the command sees the image's /usr (a marker file and a tool the host lacks) and not the
 * host's (a file the host has); the same project without {@code image:}, the control, sees the
 * host's. The image is built offline by scripts/make-test-image.sh and cached under target/.
 * Nothing leaves the host: the policy allows nothing, names resolve through an empty hosts file.
 * Needs root and umoci; with {@code CI=true} a machine without them fails, elsewhere skipped.
 */
class ImageRunIT {

    private static final String HOST_ONLY = "/usr/bin/nsenter";
    private static final String PROBE = "test -e " + HOST_ONLY + " && echo host-tool; test -e /usr/share/airlock-test-image/marker"
            + " && echo image-marker; airlock-image-tool 2>/dev/null; echo ran";

    @TempDir
    static Path tmp;
    static Path state;
    static Path hosts;
    static Path image;
    static int uid;

    @BeforeAll
    static void setUp() throws Exception {
        String missing = null;
        try {
            SandboxLauncher.checkHost();
        } catch (SandboxException e) {
            missing = e.getMessage();
        }
        if (missing == null && !Files.isExecutable(Path.of("/usr/bin/umoci"))) {
            missing = "the test needs /usr/bin/umoci (apt-get install umoci)";
        }
        if (missing != null) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail("image run kernel test cannot run, and CI=true requires it: " + missing);
            }
            Assumptions.abort("image run kernel test skipped: " + missing + " (with CI=true this fails instead)");
        }
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        state = Files.createDirectories(tmp.resolve("state"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
        hosts = Files.writeString(tmp.resolve("hosts"), "# no names: nothing resolves, nothing leaves\n");
        String sudo = System.getenv("SUDO_UID");
        uid = sudo != null && sudo.matches("[1-9]\\d*") ? Integer.parseInt(sudo) : 65534;
        image = Path.of("target", "test-images", "devbox").toAbsolutePath();
        Files.createDirectories(image.getParent());
        Process p = new ProcessBuilder("../scripts/make-test-image.sh", image.toString(), "test").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
    }

    private static Path workspace(String name) throws Exception {
        Path ws = Files.createDirectories(tmp.resolve(name));
        LinkSafeFiles.chownTree(ws, uid, Integer.parseInt(Optional.ofNullable(System.getenv("SUDO_GID")).orElse(Integer.toString(uid))));
        return ws;
    }

    record Ran(int exit, String airlock, String output) {
    }

    private static Ran run(Path policy, Path ws) throws Exception {
        Path out = Files.createTempFile(tmp, "out", ".log");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = new SandboxRun(new PrintStream(err, true, StandardCharsets.UTF_8)).run(new SandboxRun.Options(policy, Optional.empty(),
                Optional.of(hosts), ws, Map.of(), Optional.empty(), List.of("/bin/sh", "-c", PROBE), state, dev.airlock.policy.Phase.RUN,
                Optional.of(out)));
        return new Ran(exit, err.toString(StandardCharsets.UTF_8), Files.readString(out));
    }

    @Test
    void run_projectWithImage_seesTheImagesUsr_withoutImageTheHosts() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("project"));
        // Relative to the policy file, as a project writes it beside its airlock.yaml.
        Path layout = dir.resolve("images");
        Files.createSymbolicLink(layout, image.getParent());
        Path withImage = Files.writeString(dir.resolve("airlock.yaml"), "version: 1\nproject: imgrun\nimage:\n  oci: images/devbox\n  tag: test\n");
        Path without = Files.writeString(dir.resolve("host.yaml"), "version: 1\nproject: imgrun\n");

        Ran control = run(without, workspace("ws-host"));
        assertThat(Files.exists(Path.of(HOST_ONLY))).as("the control needs the host to have " + HOST_ONLY).isTrue();
        assertThat(control.output()).as(control.toString()).contains("host-tool", "ran").doesNotContain("image-marker", "image-tool-ok");

        Ran onImage = run(withImage, workspace("ws-image"));
        assertThat(onImage.exit()).as(onImage.toString()).isZero();
        assertThat(onImage.output()).as(onImage.toString()).contains("image-marker", "image-tool-ok", "ran").doesNotContain("host-tool");
        try (var s = Files.list(state.resolve("images"))) {
            assertThat(s.filter(p -> p.getFileName().toString().startsWith("sha256-")).count()).isEqualTo(1);
        }
    }

    @Test
    void run_imageMissing_airlockErrorNamesTheLineOfImage() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("missing"));
        Path policy = Files.writeString(dir.resolve("airlock.yaml"), "version: 1\nproject: imgrun\nimage:\n  oci: nowhere\n");
        Ran r = run(policy, workspace("ws-missing"));
        assertThat(r.exit()).as(r.toString()).isEqualTo(125);
        assertThat(r.airlock()).contains(policy + ":4:").contains("image:").contains("Fix:");
        assertThat(r.output()).doesNotContain("ran");
    }

    @Test
    void run_projectWithDevcontainerImage_pullsItFromALocalRegistryAndRunsOnIt() throws Exception {
        assertThat(Path.of("/usr/bin/docker-registry")).as("apt-get install docker-registry skopeo").isExecutable();
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        Path config = Files.writeString(tmp.resolve("registry.yml"), "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                + "    rootdirectory: " + Files.createDirectories(tmp.resolve("registry-data")) + "\nhttp:\n  addr: 127.0.0.1:" + port + "\n");
        Process registry = new ProcessBuilder("/usr/bin/docker-registry", "serve", config.toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("registry.log").toFile()).start();
        try {
            String ref = "127.0.0.1:" + port + "/airlock/devbox:test";
            Process push = null;
            for (int i = 0; i < 100; i++) { // until the registry listens
                push = new ProcessBuilder("skopeo", "copy", "--dest-tls-verify=false", "oci:" + image + ":test", "docker://" + ref)
                        .redirectErrorStream(true).start();
                push.getInputStream().readAllBytes();
                if (push.waitFor() == 0) {
                    break;
                }
                Thread.sleep(100);
            }
            assertThat(push.exitValue()).as(Files.readString(tmp.resolve("registry.log"))).isZero();
            Path dir = Files.createDirectories(tmp.resolve("devcontainer-project").resolve(".devcontainer"));
            Files.writeString(dir.resolve("devcontainer.json"), "// the team's devbox\n{\n  \"name\": \"imgrun\",\n  \"image\": \"" + ref
                    + "\", /* from the local registry */\n}\n");
            Path policy = Files.writeString(dir.getParent().resolve("airlock.yaml"),
                    "version: 1\nproject: imgrun\nimage:\n  devcontainer: .devcontainer/devcontainer.json\n  insecure: true\n");

            Ran onImage = run(policy, workspace("ws-devcontainer"));
            assertThat(onImage.exit()).as(onImage.toString()).isZero();
            assertThat(onImage.output()).as(onImage.toString()).contains("image-marker", "image-tool-ok", "ran").doesNotContain("host-tool");
            String digest = dev.airlock.sandbox.RegistryImages.digest(ref, true);
            assertThat(state.resolve("images").resolve("sha256-" + digest.substring("sha256:".length())).resolve("rootfs")).isDirectory();

            // the same project without insecure: the plain-HTTP registry is refused, and nothing runs
            Path strict = Files.writeString(dir.getParent().resolve("strict.yaml"),
                    "version: 1\nproject: imgrun\nimage:\n  devcontainer: .devcontainer/devcontainer.json\n");
            Ran refused = run(strict, workspace("ws-devcontainer-strict"));
            assertThat(refused.exit()).as(refused.toString()).isEqualTo(125);
            assertThat(refused.airlock()).contains(strict + ":4:").contains("cannot read image " + ref);
            assertThat(refused.output()).doesNotContain("ran");
        } finally {
            registry.destroy();
            if (!registry.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                registry.destroyForcibly().waitFor();
            }
        }
    }
}
