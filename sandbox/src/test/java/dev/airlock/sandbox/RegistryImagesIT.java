package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.sandbox.TestLayouts.Entry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Registry images against a local registry (distribution v2, Debian's docker-registry) on
 * 127.0.0.1 with its storage in a temporary directory: the test pushes a hand-made image with
 * skopeo, then Airlock's pull brings it into the store by digest. Root: the store's unpack chowns.
 * Only the registry process this test started is stopped.
 */
class RegistryImagesIT {

    @TempDir
    static Path tmp;
    static Process registry;
    static int port;
    static String pushedDigest;
    static ImageStore store;

    @BeforeAll
    static void setUp() throws Exception {
        KernelSupport.requireRoot("umoci", "skopeo", "docker-registry");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        port = freePort();
        Path config = Files.writeString(tmp.resolve("registry.yml"), """
                version: 0.1
                log:
                  level: error
                storage:
                  filesystem:
                    rootdirectory: %s
                http:
                  addr: 127.0.0.1:%d
                """.formatted(Files.createDirectories(tmp.resolve("registry-data")), port));
        registry = new ProcessBuilder("/usr/bin/docker-registry", "serve", config.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("registry.log").toFile()).start();
        awaitRegistry();
        Path layout = tmp.resolve("pushed");
        TestLayouts.layout(layout, "v1", List.of(Entry.dir("etc"), Entry.file("etc/from-registry", "pulled ok\n")));
        skopeo("copy", "--dest-tls-verify=false", "oci:" + layout + ":v1", "docker://" + ref("airlock/devbox:1"));
        // the digest as the registry itself names it (skopeo gzips the layer on push, so not the layout's)
        pushedDigest = registryDigest("airlock/devbox", "1");
        Path state = Files.createDirectories(tmp.resolve("state"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
        store = new ImageStore(state, KernelOps.system());
    }

    @AfterAll
    static void tearDown() throws InterruptedException {
        if (registry != null) {
            registry.destroy();
            if (!registry.waitFor(10, TimeUnit.SECONDS)) {
                registry.destroyForcibly().waitFor();
            }
        }
    }

    @Test
    void pull_byTag_bringsTheRegistrysManifestIntoTheStoreVerifiedByDigest() throws Exception {
        String digest = RegistryImages.digest(ref("airlock/devbox:1"), true);
        assertThat(digest).isEqualTo(pushedDigest);
        Path layout = tmp.resolve("pull-by-tag");
        RegistryImages.pull(ref("airlock/devbox:1"), true, digest, layout);
        ImageStore.Unpacked u = store.unpack(layout, Optional.of(RegistryImages.PULLED_TAG), Optional.of(digest));
        assertThat(u.digest()).isEqualTo(pushedDigest);
        assertThat(Files.readString(u.root().resolve("etc/from-registry"))).isEqualTo("pulled ok\n");
        assertThat(store.find(pushedDigest)).contains(u);
    }

    @Test
    void digest_pinnedReference_needsNoRegistry() throws Exception {
        String pinned = "127.0.0.1:1/airlock/devbox@" + pushedDigest;
        assertThat(RegistryImages.digest(pinned, true)).isEqualTo(pushedDigest);
    }

    @Test
    void digest_unknownTag_failsNamingTheReference_whileTheKnownTagResolves() throws Exception {
        assertThat(RegistryImages.digest(ref("airlock/devbox:1"), true)).isEqualTo(pushedDigest);
        assertThatThrownBy(() -> RegistryImages.digest(ref("airlock/devbox:2"), true)).isInstanceOf(SandboxException.class)
                .hasMessageContaining("cannot read image " + ref("airlock/devbox:2")).hasMessageContaining("name and tag right");
    }

    @Test
    void digest_unreachableRegistry_failsSayingToCheckIt_whileTheLiveOneAnswers() throws Exception {
        int closed = freePort();
        assertThat(RegistryImages.digest(ref("airlock/devbox:1"), true)).isEqualTo(pushedDigest);
        assertThatThrownBy(() -> RegistryImages.digest("127.0.0.1:" + closed + "/airlock/devbox:1", true)).isInstanceOf(SandboxException.class)
                .hasMessageContaining("is the registry reachable").hasMessageContaining("127.0.0.1:" + closed);
    }

    @Test
    void pull_digestTheRegistryDoesNotHave_fails_andAPinMismatchIsRefusedByTheStore() throws Exception {
        String other = "sha256:" + "0".repeat(64);
        assertThatThrownBy(() -> RegistryImages.pull(ref("airlock/devbox:1"), true, other, tmp.resolve("pull-missing")))
                .isInstanceOf(SandboxException.class).hasMessageContaining("cannot pull image").hasMessageContaining(other);
        Path layout = tmp.resolve("pull-pinned-wrong");
        RegistryImages.pull(ref("airlock/devbox:1"), true, pushedDigest, layout);
        assertThatThrownBy(() -> store.unpack(layout, Optional.of(RegistryImages.PULLED_TAG), Optional.of(other)))
                .isInstanceOf(SandboxException.class).hasMessageContaining("image.digest pins " + other);
        assertThat(store.unpack(layout, Optional.of(RegistryImages.PULLED_TAG), Optional.of(pushedDigest)).digest()).isEqualTo(pushedDigest);
    }

    @Test
    void digest_plainHttpRegistry_needsTheInsecureOptIn_whichNonLoopbackHostsNeverGet() {
        // the same loopback registry: with insecure it answers (other tests); without, skopeo insists on TLS
        assertThatThrownBy(() -> RegistryImages.digest(ref("airlock/devbox:1"), false)).isInstanceOf(SandboxException.class)
                .hasMessageContaining("cannot read image");
        assertThatThrownBy(() -> RegistryImages.digest("registry.example/airlock/devbox:1", true)).isInstanceOf(SandboxException.class)
                .hasMessageContaining("insecure (plain HTTP) is refused");
    }

    private static String ref(String nameAndTag) {
        return "127.0.0.1:" + port + "/" + nameAndTag;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void awaitRegistry() throws Exception {
        HttpClient http = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/")).build(),
                        HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            if (!registry.isAlive()) {
                break;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the test registry did not start: " + Files.readString(tmp.resolve("registry.log"), StandardCharsets.UTF_8));
    }

    private static String registryDigest(String name, String tag) throws Exception {
        HttpClient http = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build();
        HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/" + name + "/manifests/" + tag))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).header("Accept", OciLayout.MANIFEST_TYPE).build(), HttpResponse.BodyHandlers.discarding());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.headers().firstValue("Docker-Content-Digest").orElseThrow();
    }

    private static void skopeo(String... args) throws Exception {
        List<String> argv = new java.util.ArrayList<>(List.of("skopeo"));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
    }
}
