package dev.airlock.audit.report;

import dev.airlock.audit.battery.Battery;
import dev.airlock.audit.battery.BatteryRun;
import dev.airlock.audit.battery.ControlResult;
import dev.airlock.audit.battery.Evidence;
import dev.airlock.audit.battery.ProbeResult;
import dev.airlock.audit.battery.Status;
import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.RecordedReason;
import dev.airlock.policy.Reason;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Battery runs as the runner would produce them, with one probe in each status and hostile strings. */
final class RunFixtures {

    static final String SHA_A = "a".repeat(64);
    static final String SHA_B = "b".repeat(64);

    private RunFixtures() {
    }

    static ProbeResult probe(String id, String category, Status status) {
        return new ProbeResult(id, category, "target of " + id, "blocked", status, "observed " + status.code, "@result x", List.of(),
                Optional.empty(), 12);
    }

    static BatteryRun run(Instant started, String policySha, List<ProbeResult> probes) {
        return new BatteryRun(new BatteryRun.Subject("payments", new BatteryRun.Hashed("/p/airlock.yaml", policySha),
                Optional.of(new BatteryRun.Hashed("/p/org.yaml", SHA_B)), Optional.empty(), "0.1.0-test"),
                started, started.plusSeconds(30), "Linux 6.1.0 #1 SMP x86_64 GNU/Linux", "alk0123abcd", Battery.Scope.FULL,
                new BatteryRun.Enforcement("inet alk_0123abcd", "table inet alk_0123abcd {\n\tchain prerouting { tproxy }\n}\n",
                        "table inet alk_0123abcd {\n}\n"),
                new BatteryRun.Isolation(List.of("--unshare-user", "--disable-userns"), Map.of("NoNewPrivs", "1", "CapEff", "0000000000000000"),
                        List.of("net: own (net:[1])"), List.of("/ / ro,nosuid"), Map.of("pids.max", "2048")),
                probes, List.of("a note"));
    }

    /** One probe per status, one with hostile text, one with audit records and a control. */
    static BatteryRun mixed(Instant started) {
        List<ProbeResult> p = new ArrayList<>();
        p.add(new ProbeResult("production:api.acme.com:443:transparent", "production", "api.acme.com:443", "no byte back", Status.PASS,
                "no byte came back", "@result blocked no byte", List.of(new Evidence(7, AuditEvent.Via.TRANSPARENT, "api.acme.com", 443, Evidence.Entry.DENY, RecordedReason.of(Reason.PRODUCTION),
                        "api.acme.com (org.yaml:3:5, production)")), Optional.empty(), 40));
        p.add(new ProbeResult("host-service:listener", "host-service", "100.96.0.1:4000", "no byte back", Status.FAIL,
                "REACHED: <script>alert(1)</script> | pipe", "out", List.of(),
                Optional.of(new ControlResult("TCP 100.96.0.1:4000 from the host", true, "answered ALK-CONTROL-1")), 30));
        p.add(new ProbeResult("allowed:registry.acme.dev:443", "allowed", "registry.acme.dev:443", "answers", Status.NOT_REACHABLE_HERE,
                "not reachable here: dns-failure", "", List.of(), Optional.empty(), 3000));
        p.add(new ProbeResult("tampering:nft-list", "tampering", "nft list ruleset", "command fails", Status.ERROR,
                "probe could not run: nft is not installed in the sandbox", "", List.of(), Optional.empty(), 5));
        return run(started, SHA_A, p);
    }
}
