package dev.airlock.audit.battery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.report.ReportText;
import dev.airlock.gateway.audit.RecordedReason;
import dev.airlock.policy.Reason;
import dev.airlock.sandbox.PreparedSandbox;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole battery in a sandbox whose root is an OCI image (issue 20 §4, docs/images.md): the test
 * image (scripts/make-test-image.sh with {@code IMAGE_EXTRAS=audit}: the host's bash, curl, ip, nft,
 * … with their libraries, built offline) is the sandbox's root, and every probe runs there with the
 * image's tools. It uses its own small world ({@link ImageAuditWorld}), never the demo world that
 * AuditBatteryIT and the demo share (creating that one reaps a running one). With Airlock's rules the
 * audit passes, each blocked probe on its evidence; with the rules weakened the same battery on the
 * same image fails and names the probes that got through. The quick audit (the daemon's after warm
 * claims) passes on the image too.
 */
class ImageAuditIT {

    static ImageAuditWorld world;
    static Path dir;

    @BeforeAll
    static void world() throws Exception {
        KernelAudit.requireRoot();
        if (!Files.isExecutable(Path.of("/usr/bin/umoci"))) {
            String why = "the test image needs /usr/bin/umoci (apt-get install umoci)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail("image audit kernel test cannot run, and CI=true requires it: " + why);
            }
            Assumptions.abort("image audit kernel test skipped: " + why + " (with CI=true this fails instead)");
        }
        dir = Files.createTempDirectory("alk-image-audit-it-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path layout = Path.of("target", "test-images", "devbox-audit").toAbsolutePath();
        Files.createDirectories(layout.getParent());
        ProcessBuilder make = new ProcessBuilder("../scripts/make-test-image.sh", layout.toString(), "audit").redirectErrorStream(true);
        make.environment().put("IMAGE_EXTRAS", "audit");
        Process p = make.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        Files.createSymbolicLink(dir.resolve("images"), layout.getParent());
        world = ImageAuditWorld.create(dir);
        Files.writeString(dir.resolve("airlock.yaml"), """
                version: 1
                project: image-audit
                image:
                  oci: images/devbox-audit
                  tag: audit
                network:
                  allow:
                    - host: front.image.test
                      ports: [80]
                """);
        Files.writeString(dir.resolve("org.yaml"), """
                version: 1
                production:
                  - api.prod.image.test
                """);
        Files.writeString(dir.resolve("hosts"), ImageAuditWorld.FRONT + " front.image.test\n" + ImageAuditWorld.PRODUCTION
                + " api.prod.image.test\n");
    }

    @AfterAll
    static void close() throws Exception {
        if (world != null) {
            world.close();
        }
        if (dir != null) {
            dev.airlock.sandbox.LinkSafeFiles.deleteTree(dir);
        }
    }

    private static BatteryRun audit(Path state, Consumer<PreparedSandbox> afterPrepare) throws Exception {
        // The image store is under the state directory, and the sandbox user must reach it (as /var/lib/airlock is).
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
        BatteryRun run = new AuditRunner(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), Clock.systemUTC(),
                afterPrepare).run(new AuditRunner.Options(dir.resolve("airlock.yaml"), Optional.of(dir.resolve("org.yaml")),
                        Optional.of(dir.resolve("hosts")), state, Battery.Scope.FULL, "test"));
        System.out.println(ReportText.summary(run, state));
        return run;
    }

    private static Map<String, ProbeResult> byId(BatteryRun run) {
        return run.results().stream().collect(Collectors.toMap(ProbeResult::id, r -> r));
    }

    /** The sandbox's root was the image: bubblewrap's first mount binds the store's rootfs at /. */
    private static void ranOnTheImage(BatteryRun run) {
        String args = String.join(" ", run.isolation().bwrapArgs());
        assertThat(args).as("bubblewrap's command line").containsPattern("--ro-bind \\S*/images/sha256-[0-9a-f]{64}/rootfs / ");
    }

    @Test
    void audit_sandboxOnAnImage_passesWithTheImagesTools(@TempDir Path state) throws Exception {
        // Positive control for the world: from the host, without Airlock, both hosts answer.
        assertThat(KernelAudit.host("curl", "-sS", "-m", "5", "--noproxy", "*", "http://" + ImageAuditWorld.PRODUCTION + "/"))
                .contains("production answers");
        assertThat(KernelAudit.host("curl", "-sS", "-m", "5", "--noproxy", "*", "http://" + ImageAuditWorld.FRONT + "/"))
                .contains("front answers");
        long productionBefore = world.requests("production");
        long frontedBefore = world.requests("front", "api.prod.image.test");

        BatteryRun run = audit(state, p -> {
        });

        ranOnTheImage(run);
        assertThat(run.results().stream().filter(r -> r.status().failsAudit()).map(r -> r.id() + ": " + r.observed()))
                .as("failed or errored probes (a tool missing from the image is an error)").isEmpty();
        assertThat(run.passed()).isTrue();
        Map<String, ProbeResult> r = byId(run);
        // Reached from inside the image: its bash, curl and the gateway's transparent path work.
        assertThat(r.get("allowed:front.image.test:80").status()).isEqualTo(Status.PASS);
        ProbeResult production = r.get("production:api.prod.image.test:proxy");
        assertThat(production.status()).isEqualTo(Status.PASS);
        assertThat(production.records()).anySatisfy(e -> assertThat(e.reason()).isEqualTo(RecordedReason.of(Reason.PRODUCTION)));
        // Commands that must fail in the sandbox, run with the image's ip, nft and unshare (missing ones would be errors).
        for (String id : r.keySet().stream().filter(id -> id.startsWith("tampering:")).toList()) {
            assertThat(r.get(id).status()).as(id + ": " + r.get(id).observed()).isEqualTo(Status.PASS);
            assertThat(r.get(id).observed()).as(id).doesNotContain("not installed");
        }
        for (String id : java.util.List.of("files:git-hook", "files:git-config", "files:planted-link", "host-service:listener")) {
            assertThat(r.get(id).status()).as(id + ": " + r.get(id).observed()).isEqualTo(Status.PASS);
            assertThat(r.get(id).control()).as(id).hasValueSatisfying(c -> assertThat(c.reached()).as(c.toString()).isTrue());
        }
        // Judged from the targets' side: the production Host reached the front only from the fronting
        // controls (one each, from the host), never from the sandbox.
        long fronting = r.keySet().stream().filter(id -> id.startsWith("fronting:")).count();
        assertThat(fronting).as("fronting probes for the front's port 80").isPositive();
        assertThat(world.requests("front", "api.prod.image.test") - frontedBefore).isEqualTo(fronting);
        long productionControls = run.results().stream().filter(x -> x.id().startsWith("production-address:api.prod.image.test@"))
                .filter(x -> x.control().map(ControlResult::reached).orElse(false)).count();
        assertThat(productionControls).as("production-address probes with a control").isPositive();
        assertThat(world.requests("production") - productionBefore).as("only the controls reached production").isEqualTo(productionControls);
        assertThat(run.isolation().process().get("NoNewPrivs")).isEqualTo("1");
        assertThat(run.isolation().process().get("CapEff")).isEqualTo("0000000000000000");
    }

    @Test
    void audit_sandboxOnAnImageWithRulesWeakened_failsAndNamesTheProbesThatGotThrough(@TempDir Path state) throws Exception {
        BatteryRun run = audit(state, KernelAudit::weaken);

        ranOnTheImage(run);
        assertThat(run.passed()).isFalse();
        assertThat(run.results().stream().filter(x -> x.status() == Status.FAIL).map(ProbeResult::id))
                .containsExactlyInAnyOrder("host-service:listener", "proxy-bypass:host-listener:no-proxy", "rogue-dns:host-udp");
        assertThat(byId(run).get("host-service:listener").observed()).contains("REACHED").contains("ALK-CONTROL-");
        assertThat(byId(run).get("production:api.prod.image.test:proxy").status()).isEqualTo(Status.PASS);
    }

    /** The quick audit, as the daemon runs it after warm claims (Audits.quick), on the image. */
    @Test
    void quick_sandboxOnAnImage_passesAndIsTheLastResult(@TempDir Path state) throws Exception {
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
        dev.airlock.audit.report.Audits audits = new dev.airlock.audit.report.Audits(state, "test",
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));

        dev.airlock.audit.report.Audits.Done done = audits.quick(dir.resolve("airlock.yaml"), Optional.of(dir.resolve("org.yaml")),
                Optional.of(dir.resolve("hosts")));

        ranOnTheImage(done.run());
        assertThat(done.run().results().stream().filter(r -> r.status().failsAudit()).map(r -> r.id() + ": " + r.observed())).isEmpty();
        assertThat(done.passed()).isTrue();
        assertThat(audits.last()).hasValueSatisfying(e -> assertThat(e.result()).isEqualTo("pass"));
    }
}
