package dev.airlock.audit.battery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditSink;
import dev.airlock.gateway.audit.RecordedReason;
import dev.airlock.gateway.proxy.Gateway;
import dev.airlock.gateway.proxy.GatewayLimits;
import dev.airlock.gateway.proxy.GatewayMetrics;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.policy.HostFacts;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.Reason;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's deny record as a probe's evidence (issue 11 §7), against Airlock's real explicit
 * proxy on loopback: the probes' own scripts (lib.sh, curl through {@code HTTP_PROXY}), the
 * records the gateway submitted for that sandbox, and {@link Verdict}. Every target is on
 * loopback (the production name is mapped to 127.0.0.1 by the hosts map; {@code [::1]} is
 * loopback), so a gateway that let one through would still never leave this host, and no name is
 * resolved by the system: curl hands the name to the proxy.
 */
class GatewayDenyEvidenceTest {

    private static final String SANDBOX = "sbx-evidence";

    @TempDir
    Path dir;
    private final List<AuditEvent> submitted = new CopyOnWriteArrayList<>();
    private Gateway gateway;
    private int proxyPort;
    private Map<String, Probe> probes;

    @BeforeEach
    void start() throws Exception {
        ProjectPolicy project = PolicyFiles.loadProject(Files.writeString(dir.resolve("airlock.yaml"), """
                version: 1
                project: evidence
                network:
                  allow:
                    - host: cdn.test
                      ports: [80]
                """));
        OrgPolicy org = PolicyFiles.loadOrg(Files.writeString(dir.resolve("org.yaml"), "version: 1\nproduction:\n  - api.prod.test\n"));
        AuditSink capture = new AuditSink() {
            @Override
            public boolean submit(AuditEvent event) {
                submitted.add(event);
                return true;
            }

            @Override
            public boolean healthy() {
                return true;
            }

            @Override
            public void close() {
            }
        };
        gateway = new Gateway(new Gateway.Config(HostsFile.parse("hosts", "127.0.0.1 cdn.test api.prod.test\n"), capture,
                GatewayMetrics.inMemory(), GatewayLimits.DEFAULT, 1, false, "airlock.yaml"), new SandboxRegistry());
        var sandbox = gateway.registry().register(SANDBOX, "evidence", List.of(),
                PolicyEngine.compile(project, org, Phase.RUN, List.of(), HostFacts.NONE));
        proxyPort = gateway.explicitListener(new InetSocketAddress("127.0.0.1", 0), sandbox).getPort();
        BatteryContext context = new BatteryContext(project, org, AuditRunner.allowRules(project, org), List.of(),
                n -> List.of("127.0.0.1"), "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", 1, 2, proxyPort,
                new LocalTarget.Tcp("127.0.0.1", 1, "M"), new LocalTarget.Tcp("127.0.0.1", 1, "M"), new LocalTarget.Udp("127.0.0.1", 1, "M"),
                List.of(), Optional.empty());
        probes = Battery.plan(context, Battery.Scope.FULL).stream().collect(Collectors.toMap(Probe::id, p -> p));
    }

    @AfterEach
    void stop() {
        gateway.close();
    }

    /** Runs the probe's script with the proxy variables a sandbox has, and returns what it reported. */
    private Outcome run(Probe p) throws Exception {
        try (InputStream lib = Battery.class.getResourceAsStream("lib.sh")) {
            Files.write(dir.resolve("lib.sh"), lib.readAllBytes());
        }
        ProcessBuilder b = new ProcessBuilder("bash", "-c", p.script().replace(". /workspace/lib.sh", ". " + dir.resolve("lib.sh")))
                .redirectErrorStream(true);
        String proxy = "http://127.0.0.1:" + proxyPort;
        b.environment().keySet().removeIf(k -> k.equalsIgnoreCase("no_proxy") || k.equalsIgnoreCase("all_proxy"));
        b.environment().putAll(Map.of("HTTP_PROXY", proxy, "http_proxy", proxy, "HTTPS_PROXY", proxy, "https_proxy", proxy));
        Process process = b.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return Outcome.parse(process.exitValue(), out);
    }

    /** The decisions the gateway submitted for {@code sandbox}, as the audit reads them back from the log. */
    private List<Evidence> records(String sandbox) {
        List<Evidence> out = new java.util.ArrayList<>();
        for (AuditEvent e : submitted) {
            if (sandbox.equals(e.sandbox())) {
                out.add(new Evidence(out.size() + 1, e.via(), e.name(), e.port(), e.event() == AuditEvent.Event.CLOSE ? Evidence.Entry.CLOSE
                        : e.decision() == AuditEvent.Decision.ALLOW ? Evidence.Entry.ALLOW : Evidence.Entry.DENY,
                        RecordedReason.of(e.reason()), e.rule()));
            }
        }
        return out;
    }

    @Test
    void judge_proxiedProbesTheGatewayDenied_passOnItsOwnRecordWithoutAControl() throws Exception {
        for (String id : List.of("production:api.prod.test:proxy", "loopback6:proxy")) {
            submitted.clear();
            Probe p = probes.get(id);
            assertThat(p.control()).as(id).isEmpty();
            Outcome o = run(p);
            assertThat(o.observation()).as(id + ": " + o.output()).contains(Observed.BLOCKED);

            Verdict.Judged j = Verdict.judge(p, o, Optional.empty(), records(SANDBOX));
            assertThat(j.status()).as(id + ": " + j.observed()).isEqualTo(Status.PASS);
            assertThat(j.observed()).as(id).contains("the gateway denied it");
        }
    }

    @Test
    void judge_theSameBlockWithoutThatSandboxsRecord_isInconclusive() throws Exception {
        Probe p = probes.get("production:api.prod.test:proxy");
        Outcome o = run(p);
        // The positive side first: the gateway did record it, for this sandbox.
        assertThat(records(SANDBOX)).anySatisfy(e -> assertThat(e.reason()).isEqualTo(RecordedReason.of(Reason.PRODUCTION)));

        Verdict.Judged j = Verdict.judge(p, o, Optional.empty(), records("sbx-another"));
        assertThat(j.status()).as(j.observed()).isEqualTo(Status.NOT_REACHABLE_HERE);
        assertThat(j.observed()).startsWith("inconclusive");
    }
}
