package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditLogReader;
import dev.airlock.runtime.demo.DemoWorld;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Continuous auditing in the daemon, against the demo world's fake hosts (198.18.x in their own
 * namespace; the public resolvers some probes aim at are routed there too): a warm claim runs the
 * quick subset, its result shows in the metrics, and a project that just started is not yet overdue. The
 * audit records into the daemon's own audit log, whose chain stays whole.
 */
class DaemonAuditsIT {

    @TempDir
    Path tmp;

    private static void host(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + ": " + out).isZero();
    }

    @Test
    void warmClaim_runsTheQuickAudit_andItsResultReachesTheMetrics() throws Exception {
        Root.require();
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (DemoWorld world = DemoWorld.create(tmp.resolve("world"))) {
            for (String a : new String[] {"8.8.8.8/32", "1.1.1.1/32"}) {
                host("ip", "route", "replace", a, "dev", "alkdemoh");
            }
            Files.writeString(tmp.resolve("airlock.yaml"), String.join("\n", "version: 1", "project: audit-daemon", "network:",
                    "  allow:", "    - host: registry.demo.test", "      ports: [80]", ""));
            Files.writeString(tmp.resolve("org.yaml"), String.join("\n", "version: 1", "production:", "  - \"*.prod.demo.test\"",
                    "  - cidr: 198.18.0.12/31", ""));
            Files.writeString(tmp.resolve("hosts"), world.hostsMap());
            Files.writeString(tmp.resolve("daemon.yaml"), String.join("\n", "version: 1", "state: " + tmp.resolve("state"), "org: org.yaml",
                    "hosts: hosts", "projects:", "  - policy: airlock.yaml", "    size: 1", ""));
            try (DaemonServer server = DaemonServer.start(DaemonConfig.load(tmp.resolve("daemon.yaml")), System.err, "it")) {
                DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
                DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "one warm");
                AuditScheduler a = server.daemon().audits().orElseThrow();
                AuditScheduler.Target t = a.targets().get(0);
                assertThat(a.due(t)).as("no full audit yet").isTrue();
                // Issue 19: a daemon that started a moment ago is not "overdue" (its first full audit is queued);
                // AuditSchedulerTest shows it becomes overdue once FIRST_AUDIT_GRACE has passed without one.
                assertThat(a.overdue(t)).isFalse();
                String id = c.post("/v1/claims", new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode()
                        .put("project", "audit-daemon")).body().path("sandbox").asText();
                for (int i = 0; i < 1200 && a.last().isEmpty(); i++) {
                    Thread.sleep(100);
                }
                assertThat(a.last()).as("the quick audit after the claim finished").isPresent();
                assertThat(a.last().get().scope()).isEqualToIgnoringCase("quick");
                assertThat(a.last().get().result()).isEqualToIgnoringCase("pass");
                String metrics = server.daemon().meters().scrape();
                assertThat(metrics).containsPattern("airlock_audit_last_run_timestamp_seconds\\{result=\"pass\"\\} [1-9]");
                assertThat(metrics).contains("airlock_audit_probes_failed 0.0");
                assertThat(metrics).contains("airlock_audit_overdue{project=\"audit-daemon\"} 0.0");
                assertThat(Dashboard.render(server.daemon(), "")).contains("Last quick audit: <span class=\"ok\">PASS</span> · audit-daemon")
                        .doesNotContain("is overdue");
                c.delete("/v1/sandboxes/" + id);
            }
            // Issue 17: the audit's gateway, a second writer in the daemon's process, recorded into the
            // daemon's own log (it used to need a file of its own), and the chain is whole.
            Path log = tmp.resolve("state/audit.log");
            AuditLogReader.Verification v = AuditLogReader.verify(log);
            assertThat(v.firstBreak()).isEmpty();
            assertThat(v.records()).as("the audit's probes were recorded").isPositive();
            assertThat(tmp.resolve("state/audit-runs.log")).doesNotExist();
        }
    }
}
