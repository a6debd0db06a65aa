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
public final class RunFixtures {

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

    /**
     * A run shaped like the real full battery: 90 probes over every category, the longest ids and
     * targets the battery writes (IPv6 literals, proxy-bypass names), multi-line observations, audit
     * records and positive controls: what the HTML report must lay out at 1400 px.
     */
    public static BatteryRun fullBattery(Instant started) {
        List<ProbeResult> p = new ArrayList<>(mixed(started).results());
        String[] ids = {"proxy-bypass:registry.npmjs.org:443:unset", "udp-icmp-ipv6:ipv6-literal:[2001:db8::1]:443",
            "dns-exfiltration:long-label", "fronting:allowed-sni-production-host", "other-sandbox:neighbour-gateway-explicit-proxy"};
        for (int i = 0; p.size() < 90; i++) {
            String category = Battery.CATEGORIES.get(i % Battery.CATEGORIES.size());
            String id = category + ":" + ids[i % ids.length].substring(ids[i % ids.length].indexOf(':') + 1) + "-" + i;
            Status status = i % 17 == 3 ? Status.NOT_REACHABLE_HERE : Status.PASS;
            p.add(new ProbeResult(id, category, "[2001:db8:20::" + i + "]:443 via CONNECT with Host: api.production.acme.internal.example",
                    "no byte back; a deny record", status, "no byte came back\ncurl: (56) CONNECT tunnel failed, response 403\nexit 56",
                    "@result blocked", List.of(new Evidence(100 + i, AuditEvent.Via.EXPLICIT, "api.production.acme.internal.example", 443,
                            Evidence.Entry.DENY, RecordedReason.of(Reason.PRODUCTION), "api.production.acme.internal.example (org.yaml:3:5)"),
                            new Evidence(101 + i, AuditEvent.Via.DNS, "api.production.acme.internal.example", 0, Evidence.Entry.DENY,
                                    RecordedReason.of(Reason.PRODUCTION), "org.yaml:3:5")),
                    Optional.of(new ControlResult("TCP [2001:db8:20::" + i + "]:443 from the host, outside any sandbox", true,
                            "answered ALK-CONTROL-" + i + " after 3 ms")), 40));
        }
        return run(started, SHA_A, p);
    }

    /** The quick subset a warm claim runs: the mixed run's probes, scope QUICK. */
    public static BatteryRun quick(Instant started) {
        BatteryRun r = mixed(started);
        return new BatteryRun(r.subject(), r.started(), r.finished(), r.kernel(), r.sandboxId(), Battery.Scope.QUICK, r.enforcement(),
                r.isolation(), r.results(), r.notes());
    }
}
