package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's pool on a project's image (docs/images.md), against the real kernel: the template's
 * setup runs inside the image (it uses a tool only the image has), a pooled claim runs on the image
 * over that template, and a new image digest under the same {@code image:} rebuilds the template
 * and rotates the idle member, as a new HEAD would. Images are built offline by
 * scripts/make-test-image.sh; the source is a local git repository; nothing leaves the machine.
 */
class DaemonImageIT {

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

    private static String run(DaemonClient c) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JsonNode last = c.run("daemon-it", List.of("/bin/sh", "-c", "cat built.txt; test -e /usr/bin/nsenter && echo host-tool; echo ran"),
                Map.of(), new ByteArrayInputStream(new byte[0]), out, OutputStream.nullOutputStream(), s -> { });
        assertThat(last.path("exit").asInt()).as(out.toString(StandardCharsets.UTF_8)).isZero();
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void pool_onImage_setupInsideTheImage_newDigestRotatesThePool() throws Exception {
        Path cwd = Path.of("").toAbsolutePath();
        Path images = Files.createDirectories(cwd.resolve("target/test-images"));
        sh(cwd, "../scripts/make-test-image.sh", images.resolve("devbox").toString(), "test");
        sh(cwd, "../scripts/make-test-image.sh", images.resolve("devbox-second").toString(), "test", "the second image");
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        sh(src, "git", "init", "-q", "-b", "main");
        Files.writeString(src.resolve("README"), "one\n");
        sh(src, "git", "add", "-A");
        sh(src, "git", "-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-q", "-m", "first");
        // image: names tmp/img/devbox; img is swapped from one layout to the other to give the same name a new digest.
        // (copies of the cached layouts: a layout reached through a link at its last name is refused)
        Path first = Files.createDirectories(tmp.resolve("img-1"));
        sh(cwd, "cp", "-a", images.resolve("devbox").toString(), first.resolve("devbox").toString());
        Path second = Files.createDirectories(tmp.resolve("img-2"));
        sh(cwd, "cp", "-a", images.resolve("devbox-second").toString(), second.resolve("devbox").toString());
        Path img = Files.createSymbolicLink(tmp.resolve("img"), first.getFileName());
        Path config = DaemonFixture.write(tmp, 1, 4);
        Files.writeString(tmp.resolve("airlock.yaml"), Files.readString(tmp.resolve("airlock.yaml")) + String.join("\n",
                "image: { oci: img/devbox, tag: test }",
                "workspace:",
                "  source: " + src,
                "  ref: main",
                "  setup: [\"cat /usr/share/airlock-test-image/marker > built.txt && airlock-image-tool >> built.txt\"]", ""));
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err, "it")) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "the first template built on the image and a member warm");
            String firstTemplate = DaemonIT.status(c).path("template").asText();
            String firstImage = DaemonIT.status(c).path("image").asText();
            assertThat(firstImage).matches("sha256:[0-9a-f]{64}");
            assertThat(run(c)).isEqualTo("from the image\nimage-tool-ok\nran\n");

            Files.delete(img);
            Files.createSymbolicLink(img, second.getFileName());
            server.daemon().refreshTemplates();
            DaemonIT.eventually(() -> !DaemonIT.status(c).path("template").asText().equals(firstTemplate), "a new image rebuilt the template");
            DaemonIT.eventually(() -> {
                try {
                    JsonNode all = c.get("/v1/sandboxes").body();
                    return all.size() == 1 && DaemonIT.status(c).path("ready").asInt() == 1;
                } catch (java.io.IOException e) {
                    return false;
                }
            }, "the pool rotated to the new template");
            assertThat(run(c)).isEqualTo("the second image\nimage-tool-ok\nran\n");
            assertThat(DaemonIT.status(c).path("image").asText()).matches("sha256:[0-9a-f]{64}").isNotEqualTo(firstImage);
        }
        assertThat(DaemonFixture.leasesOf(ProcessHandle.current().pid())).isEmpty();
    }

    /**
     * A local registry for one test (Debian's docker-registry, distribution v2, on 127.0.0.1 and a
     * free port, its storage under {@code tmp}); nothing of it is reachable from elsewhere.
     */
    private record Registry(Process process, int port) implements AutoCloseable {

        static Registry start(Path tmp) throws Exception {
            assertThat(Path.of("/usr/bin/docker-registry")).as("apt-get install docker-registry skopeo").isExecutable();
            int port;
            try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                port = free.getLocalPort();
            }
            Path config = Files.writeString(tmp.resolve("registry.yml"), "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                    + "    rootdirectory: " + Files.createDirectories(tmp.resolve("registry-data")) + "\nhttp:\n  addr: 127.0.0.1:" + port + "\n");
            Process p = new ProcessBuilder("/usr/bin/docker-registry", "serve", config.toString()).redirectErrorStream(true)
                    .redirectOutput(tmp.resolve("registry.log").toFile()).start();
            return new Registry(p, port);
        }

        String ref(String nameAndTag) {
            return "127.0.0.1:" + port + "/" + nameAndTag;
        }

        /** Pushes tag {@code tag} of {@code layout} as {@code ref} (retried until the registry listens). */
        void push(Path layout, String tag, String ref) throws Exception {
            String out = "";
            for (int i = 0; i < 100; i++) {
                Process p = new ProcessBuilder("skopeo", "copy", "--dest-tls-verify=false", "oci:" + layout + ":" + tag, "docker://" + ref)
                        .redirectErrorStream(true).start();
                out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (p.waitFor() == 0) {
                    return;
                }
                Thread.sleep(100);
            }
            throw new AssertionError("skopeo could not push " + ref + ": " + out);
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }

    /** The two cached test layouts: one's marker reads "from the image", the other's "the second image". */
    private static Path[] testImages() throws Exception {
        Path cwd = Path.of("").toAbsolutePath();
        Path images = Files.createDirectories(cwd.resolve("target/test-images"));
        sh(cwd, "../scripts/make-test-image.sh", images.resolve("devbox").toString(), "test");
        sh(cwd, "../scripts/make-test-image.sh", images.resolve("devbox-second").toString(), "test", "the second image");
        return new Path[] {images.resolve("devbox"), images.resolve("devbox-second")};
    }

    /** A daemon for {@code airlock.yaml} with {@code image} (YAML) and a template's setup that uses the image's tool. */
    private Path project(String image) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        sh(src, "git", "init", "-q", "-b", "main");
        Files.writeString(src.resolve("README"), "one\n");
        sh(src, "git", "add", "-A");
        sh(src, "git", "-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-q", "-m", "first");
        Path config = DaemonFixture.write(tmp, 1, 4);
        Files.writeString(tmp.resolve("airlock.yaml"), Files.readString(tmp.resolve("airlock.yaml")) + image + String.join("\n",
                "workspace:",
                "  source: " + src,
                "  ref: main",
                "  setup: [\"cat /usr/share/airlock-test-image/marker > built.txt && airlock-image-tool >> built.txt\"]", ""));
        return config;
    }

    /** The store holds {@code digest} (the registry's, sha256:…) unpacked. */
    private void stored(String digest) {
        assertThat(tmp.resolve("state/images/sha256-" + digest.substring("sha256:".length()) + "/rootfs")).isDirectory();
    }

    @Test
    void pool_onRegistryImage_templateAndClaimOnIt_newDigestUnderTheSameTagRotatesThePool() throws Exception {
        Path[] layouts = testImages();
        try (Registry registry = Registry.start(tmp)) {
            String ref = registry.ref("airlock/devbox:dev");
            registry.push(layouts[0], "test", ref);
            String firstDigest = dev.airlock.sandbox.RegistryImages.digest(ref, true);
            Path config = project("image: { ref: \"" + ref + "\", insecure: true }\n");
            try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err, "it")) {
                DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
                DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "the template built on the registry image, a member warm");
                String firstTemplate = DaemonIT.status(c).path("template").asText();
                assertThat(run(c)).isEqualTo("from the image\nimage-tool-ok\nran\n");
                stored(firstDigest);

                // a new image pushed under the same tag: a new digest, as a rebuilt :dev would be
                registry.push(layouts[1], "test", ref);
                String secondDigest = dev.airlock.sandbox.RegistryImages.digest(ref, true);
                assertThat(secondDigest).isNotEqualTo(firstDigest);
                server.daemon().refreshTemplates();
                DaemonIT.eventually(() -> !DaemonIT.status(c).path("template").asText().equals(firstTemplate), "the new digest rebuilt the template");
                DaemonIT.eventually(() -> {
                    try {
                        return c.get("/v1/sandboxes").body().size() == 1 && DaemonIT.status(c).path("ready").asInt() == 1;
                    } catch (java.io.IOException e) {
                        return false;
                    }
                }, "the pool rotated to the new template");
                assertThat(run(c)).isEqualTo("the second image\nimage-tool-ok\nran\n");
                stored(secondDigest);
            }
        }
        assertThat(DaemonFixture.leasesOf(ProcessHandle.current().pid())).isEmpty();
    }

    @Test
    void pool_onDevcontainerImage_templateAndClaimOnTheImageItNames() throws Exception {
        Path[] layouts = testImages();
        try (Registry registry = Registry.start(tmp)) {
            String ref = registry.ref("airlock/devcontainer:1");
            registry.push(layouts[1], "test", ref);
            Path dc = Files.createDirectories(tmp.resolve(".devcontainer"));
            Files.writeString(dc.resolve("devcontainer.json"), "// the team's devbox\n{\n  \"name\": \"daemon-it\",\n  \"image\": \"" + ref
                    + "\", /* the local registry */\n}\n");
            Path config = project("image: { devcontainer: .devcontainer/devcontainer.json, insecure: true }\n");
            try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err, "it")) {
                DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
                DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "the template built on the devcontainer's image");
                // the second layout's marker: the image the devcontainer names, not the host's /usr (no marker, nsenter there)
                assertThat(run(c)).isEqualTo("the second image\nimage-tool-ok\nran\n");
                stored(dev.airlock.sandbox.RegistryImages.digest(ref, true));
            }
        }
        assertThat(DaemonFixture.leasesOf(ProcessHandle.current().pid())).isEmpty();
    }
}
