package dev.airlock.audit.battery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.report.ReportText;
import dev.airlock.gateway.audit.RecordedReason;
import dev.airlock.policy.Reason;
import dev.airlock.runtime.demo.DemoWorld;
import dev.airlock.sandbox.PreparedSandbox;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The battery against a real sandbox and the demo world (fake hosts in 198.18.0.0/24 and a fake
 * metadata service, routed only into the world's own namespace): with Airlock's rules the audit
 * passes; with the rules deliberately weakened it fails and names the probe that got through.
 */
class AuditBatteryIT {

    static DemoWorld world;
    static Path dir;

    @BeforeAll
    static void world() throws IOException, InterruptedException {
        KernelAudit.requireRoot();
        dir = Files.createTempDirectory("alk-audit-it-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        world = DemoWorld.create(dir.resolve("world"));
        // The public resolvers and addresses some probes aim at go to the world's link too, so that
        // nothing of this test can leave the machine even if a rule were missing. They go with the link.
        for (String a : new String[] {"8.8.8.8/32", "1.1.1.1/32"}) {
            String out = KernelAudit.host("ip", "route", "replace", a, "dev", "alkdemoh");
            if (out.startsWith("FAILED")) {
                throw new IllegalStateException(out);
            }
        }
        Files.writeString(dir.resolve("airlock.yaml"), """
                version: 1
                project: audit-demo
                network:
                  allow:
                    - git.demo.test:9418
                    - host: registry.demo.test
                      ports: [80, 8000]
                    - missing.demo.test
                    - host: cdn.demo.test
                      ports: [80]
                """);
        // The exact production name is resolved by the gateway itself; cdn.demo.test is an allowed
        // name whose answer is its address (issue 18 b). The production CIDR stays narrower than the
        // address so that only production-by-address denies cdn.demo.test.
        Files.writeString(dir.resolve("org.yaml"), """
                version: 1
                production:
                  - "*.prod.demo.test"
                  - api.payments.prod.demo.test
                  - cidr: 198.18.0.13/32
                """);
        Files.writeString(dir.resolve("hosts"), world.hostsMap() + "198.18.0.12 cdn.demo.test\n");
    }

    @AfterAll
    static void close() throws IOException {
        if (world != null) {
            world.close();
        }
        // The world's files (policies, hosts map, git and registry content, logs): nothing of the test stays in /tmp.
        if (dir != null) {
            dev.airlock.sandbox.LinkSafeFiles.deleteTree(dir);
        }
    }

    private BatteryRun audit(Path state, Consumer<PreparedSandbox> afterPrepare) throws Exception {
        return audit(state, afterPrepare, dir.resolve("airlock.yaml"), WorkspaceTargets.AIRLOCK);
    }

    private BatteryRun audit(Path state, Consumer<PreparedSandbox> afterPrepare, Path policy, WorkspaceTargets.RootWriter rootWriter)
            throws Exception {
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        BatteryRun run = new AuditRunner(new PrintStream(progress, true, StandardCharsets.UTF_8), Clock.systemUTC(), afterPrepare, rootWriter)
                .run(new AuditRunner.Options(policy, Optional.of(dir.resolve("org.yaml")), Optional.of(dir.resolve("hosts")),
                        state, Battery.Scope.FULL, "test"));
        System.out.println(ReportText.summary(run, state));
        // To look at the reports of a run: AIRLOCK_AUDIT_IT_REPORTS=/some/dir
        String keep = System.getenv("AIRLOCK_AUDIT_IT_REPORTS");
        if (keep != null) {
            new dev.airlock.audit.report.ReportStore(Path.of(keep)).save(run, java.util.EnumSet.allOf(dev.airlock.audit.report.Format.class),
                    Optional.empty());
        }
        return run;
    }

    /** Requests the demo registry (a shared front) logged with the production name as their Host. */
    private static long productionHostsAtTheFront() throws IOException {
        return world.serviceEvents().stream().filter(l -> l.contains("\"registry\"") && l.contains("host=api.payments.prod.demo.test"))
                .count();
    }

    private static Map<String, ProbeResult> byId(BatteryRun run) {
        return run.results().stream().collect(Collectors.toMap(ProbeResult::id, r -> r));
    }

    @Test
    void audit_demoWorld_passesWithEveryAllowedEntryReached(@TempDir Path state) throws Exception {
        // Positive control for the world itself: from the host, the production webhook answers.
        assertThat(KernelAudit.host("curl", "-sS", "-m", "5", "--noproxy", "*", "http://198.18.0.12/")).isNotBlank();

        long productionHostsBefore = productionHostsAtTheFront();
        BatteryRun run = audit(state, p -> {
        });

        assertThat(run.results().stream().filter(r -> r.status().failsAudit()).map(r -> r.id() + ": " + r.observed()))
                .as("failed or errored probes").isEmpty();
        assertThat(run.passed()).isTrue();
        Map<String, ProbeResult> r = byId(run);
        assertThat(r.get("allowed:registry.demo.test:80").status()).isEqualTo(Status.PASS);
        assertThat(r.get("allowed:git.demo.test:9418").status()).isEqualTo(Status.PASS);
        // Allowed, but the hosts map does not know it: reported, never passed.
        assertThat(r.get("allowed:missing.demo.test:80").status()).isEqualTo(Status.NOT_REACHABLE_HERE);
        assertThat(r.get("allowed:missing.demo.test:443").status()).isEqualTo(Status.NOT_REACHABLE_HERE);
        ProbeResult webhook = r.get("production:api.payments.prod.demo.test:proxy");
        assertThat(webhook.status()).isEqualTo(Status.PASS);
        assertThat(webhook.records()).anySatisfy(e -> assertThat(e.reason()).isEqualTo(RecordedReason.of(Reason.PRODUCTION)));
        // The production CIDR (198.18.0.13/32) is probed by address as well; the decision is recorded.
        assertThat(r.get("production:198.18.0.13:80:transparent").records()).anySatisfy(e -> assertThat(e.entry()).isEqualTo(Evidence.Entry.DENY));
        // Fronting (issue 15): the registry is a shared front that answers any Host, kept alive.
        for (String id : List.of("fronting:connect-http:registry.demo.test:80", "fronting:keep-alive:registry.demo.test:80",
                "fronting:other-port-http:registry.demo.test:8000")) {
            assertThat(r.get(id).status()).as(id + ": " + r.get(id).observed()).isEqualTo(Status.PASS);
            assertThat(r.get(id).control()).as(id).hasValueSatisfying(c -> assertThat(c.reached()).isTrue());
            assertThat(r.get(id).records()).as(id).anySatisfy(e -> assertThat(e.reason()).isEqualTo(RecordedReason.of(Reason.HOST_MISMATCH)));
        }
        // Judged from the front's side: the production Host arrived exactly once per control (from the
        // host, without Airlock), never from the sandbox.
        assertThat(productionHostsAtTheFront() - productionHostsBefore).as("one per control").isEqualTo(3);
        // Production by address: by IP literal and through another allowed name, each with its positive control.
        for (String id : List.of("production-address:api.payments.prod.demo.test@198.18.0.12:80:ip",
                "production-address:api.payments.prod.demo.test@198.18.0.12:80:ip:proxy",
                "production-address:cdn.demo.test@198.18.0.12:80:transparent", "production-address:cdn.demo.test@198.18.0.12:80:proxy")) {
            assertThat(r.get(id)).as(id).satisfies(p -> {
                assertThat(p.status()).isEqualTo(Status.PASS);
                assertThat(p.control()).hasValueSatisfying(c -> assertThat(c.reached()).isTrue());
            });
        }
        assertThat(r.get("production-address:cdn.demo.test@198.18.0.12:80:proxy").records())
                .anySatisfy(e -> assertThat(e.reason()).isEqualTo(RecordedReason.of(Reason.PRODUCTION)));
        ProbeResult hostService = r.get("host-service:listener");
        assertThat(hostService.control()).hasValueSatisfying(c -> assertThat(c.reached()).isTrue());
        assertThat(r.get("tampering:nft-flush").status()).isEqualTo(Status.PASS);
        for (String id : WORKSPACE_PROBES) {
            assertThat(r.get(id).status()).as(id + ": " + r.get(id).observed()).isEqualTo(Status.PASS);
            assertThat(r.get(id).control()).as(id).hasValueSatisfying(c -> assertThat(c.reached()).as(c.toString()).isTrue());
        }
        assertThat(run.enforcement().hostRuleset()).contains("tproxy");
        assertThat(run.isolation().process().get("NoNewPrivs")).isEqualTo("1");
        assertThat(run.isolation().process().get("CapEff")).isEqualTo("0000000000000000");
    }

    /** The probes of what a sandbox leaves for the host (issue 15 §3, §4). */
    private static final java.util.List<String> WORKSPACE_PROBES = java.util.List.of("files:git-hook", "files:git-config",
            "files:planted-link");

    @Test
    void audit_gitProtectionOffAndRootWritingThroughLinks_failsTheWorkspaceProbes(@TempDir Path state) throws Exception {
        // The protections switched off: the project opts out of the read-only .git, and root writes
        // the way Airlock did before (a plain write, which follows a link).
        Path writable = Files.writeString(dir.resolve("airlock-writable-git.yaml"), Files.readString(dir.resolve("airlock.yaml"))
                + "workspace:\n  writableGitConfig: true\n");
        BatteryRun run = audit(state, p -> {
        }, writable, (file, data) -> Files.write(file, data));

        Map<String, ProbeResult> r = byId(run);
        for (String id : WORKSPACE_PROBES) {
            assertThat(r.get(id).status()).as(id + ": " + r.get(id).observed()).isEqualTo(Status.FAIL);
        }
        assertThat(r.get("files:planted-link").observed()).contains("followed the planted link");
        assertThat(r.get("files:git-hook").observed()).contains("WORKED");
        assertThat(run.results().stream().filter(x -> x.status() == Status.FAIL).map(ProbeResult::id))
                .containsExactlyInAnyOrderElementsOf(WORKSPACE_PROBES);
    }

    @Test
    void audit_rulesWeakenedToLetTcpAndUdpReachTheHost_failsAndNamesTheProbesThatGotThrough(@TempDir Path state) throws Exception {
        BatteryRun run = audit(state, KernelAudit::weaken);

        assertThat(run.passed()).isFalse();
        ProbeResult leak = byId(run).get("host-service:listener");
        assertThat(leak.status()).isEqualTo(Status.FAIL);
        assertThat(leak.observed()).contains("REACHED").contains("ALK-CONTROL-");
        assertThat(byId(run).get("proxy-bypass:host-listener:no-proxy").status()).isEqualTo(Status.FAIL);
        ProbeResult udp = byId(run).get("rogue-dns:host-udp");
        assertThat(udp.status()).isEqualTo(Status.FAIL);
        assertThat(udp.observed()).contains("a datagram came back");
        // Everything the weakening did not touch still holds.
        assertThat(byId(run).get("production:api.payments.prod.demo.test:proxy").status()).isEqualTo(Status.PASS);
        // Nothing answers DNS at 8.8.8.8 in the demo world and the sandbox drops the datagram before any
        // gateway sees it: no control, no deny record, so its block proves nothing (issue 11 §7).
        ProbeResult publicResolver = byId(run).get("rogue-dns:8.8.8.8");
        assertThat(publicResolver.status()).as(publicResolver.observed()).isEqualTo(Status.NOT_REACHABLE_HERE);
        assertThat(publicResolver.observed()).startsWith("inconclusive");
        assertThat(run.results().stream().filter(r -> r.status() == Status.FAIL).map(ProbeResult::id))
                .containsExactlyInAnyOrder("host-service:listener", "proxy-bypass:host-listener:no-proxy", "rogue-dns:host-udp");
    }

    @Test
    void quick_demoWorld_passesAndIsTheLastResultForTheMetrics(@TempDir Path state) throws Exception {
        dev.airlock.audit.report.Audits audits = new dev.airlock.audit.report.Audits(state, "test",
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));

        dev.airlock.audit.report.Audits.Done done = audits.quick(dir.resolve("airlock.yaml"), Optional.of(dir.resolve("org.yaml")),
                Optional.of(dir.resolve("hosts")));

        assertThat(done.passed()).isTrue();
        assertThat(done.run().results()).hasSizeBetween(5, 9);
        assertThat(audits.last()).hasValueSatisfying(e -> {
            assertThat(e.result()).isEqualTo("pass");
            assertThat(e.scope()).isEqualTo("quick");
            assertThat(e.counts()).containsEntry("fail", 0L).containsEntry("error", 0L);
            assertThat(e.dir()).isEqualTo(done.dir());
        });
    }
}
