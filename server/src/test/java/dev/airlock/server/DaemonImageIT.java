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
}
