package dev.airlock.audit.evidence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.battery.Battery;
import dev.airlock.audit.battery.BatteryRun;
import dev.airlock.audit.battery.ProbeResult;
import dev.airlock.audit.battery.Status;
import dev.airlock.audit.report.Format;
import dev.airlock.audit.report.ReportStore;
import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditLog;
import dev.airlock.policy.Reason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvidenceBundleTest {

    static final Instant NOW = Instant.parse("2026-11-27T00:00:00Z");

    @TempDir
    Path tmp;
    Path state;
    Path policy;
    Path org;

    @BeforeEach
    void files() throws Exception {
        state = Files.createDirectories(tmp.resolve("state"));
        policy = Files.writeString(tmp.resolve("airlock.yaml"), """
                version: 1
                project: payments
                network:
                  allow: [github.com]
                resources: { memory: 2GiB, cpus: 1, pids: 512 }
                """);
        org = Files.writeString(tmp.resolve("org.yaml"), "version: 1\nproduction:\n  - api.acme.com\n");
    }

    private EvidenceBundle.Result build(List<NetworkPolicyExport> exports) throws Exception {
        return EvidenceBundle.build(new EvidenceBundle.Input(List.of(policy), Optional.of(org), state, Duration.ofDays(30), "0.1.0-test",
                exports), tmp.resolve("evidence"), NOW);
    }

    @Test
    void build_withoutAnyData_statesEveryGapExplicitly() throws Exception {
        EvidenceBundle.Result r = build(List.of());
        String index = Files.readString(r.dir().resolve("index.html"));
        assertThat(index).contains("Project payments").contains("memory 2 GiB,").doesNotContain("2147483648").contains("allow github.com")
                .contains("api.acme.com").contains("no daemon data").contains("no audit report yet").contains("no audit log");
        assertThat(r.gaps()).hasSize(3);
        assertThat(index.indexOf("id=\"answer\" class=\"answer not-shown\"")).as("the answer opens the page").isLessThan(index.indexOf("Built "))
                .isGreaterThan(0);
        assertThat(index).contains("payments: no audit yet").contains("audit log: no audit log at")
                .contains("on every port, by name").doesNotContain("unless ports are given");
        assertThat(r.dir().resolve("projects/payments/airlock.yaml")).hasSameTextualContentAs(policy);
    }

    @Test
    void build_projectOnAnImage_namesItsManifestDigest_hostRootOtherwise() throws Exception {
        assertThat(Files.readString(build(List.of()).dir().resolve("index.html"))).contains("root file system: the host", "/usr (no image:)");
        String digest = "sha256:" + "c".repeat(64);
        Path layout = Files.createDirectories(tmp.resolve("images/devbox"));
        Files.writeString(layout.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                + "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + digest + "\",\"size\":1,"
                + "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}");
        Files.writeString(policy, Files.readString(policy) + "image: {oci: images/devbox, tag: v1}\n");
        String index = Files.readString(build(List.of()).dir().resolve("index.html"));
        assertThat(index).contains("image: oci images/devbox tag v1, manifest " + digest);
    }

    @Test
    void build_withAnAuditReportAuditLogAndDaemonData_includesThemAndZipsTheTree() throws Exception {
        new ReportStore(state).save(run(), EnumSet.allOf(Format.class), Optional.empty());
        try (AuditLog log = AuditLog.open(state.resolve("audit.log"), Clock.systemUTC())) {
            log.submit(new AuditEvent(AuditEvent.Event.DECISION, "alk0123abcd", "payments", AuditEvent.Via.TRANSPARENT, "100.96.0.2:5000",
                    "api.acme.com", 443, List.of(), AuditEvent.Decision.DENY, "-", Reason.PRODUCTION, 0, 0, 0));
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + state.resolve("airlock.db"))) {
            // the usage history's table (pool StateDatabase's claim) and the daemon's pool-size samples
            c.createStatement().execute("create table claim(id integer primary key, project text, time_us integer, result text,"
                    + " claim_us integer, prepare_us integer, age_us integer)");
            long t = NOW.minusSeconds(3600).getEpochSecond() * 1_000_000L;
            long old = t - 90L * 86400 * 1_000_000L;
            c.createStatement().execute("insert into claim(project, time_us, result, claim_us) values ('payments'," + t + ",'warm',1),"
                    + "('payments'," + t + ",'warm',1),('payments'," + t + ",'warm',1),('payments'," + t + ",'cold',1),"
                    + "('payments'," + old + ",'warm',1)");
            c.createStatement().execute("create table daemon_pool_samples(project text, time_ms integer, desired integer, ready integer,"
                    + " warming integer, in_use integer)");
            long ms = NOW.minusSeconds(60).toEpochMilli();
            c.createStatement().execute("insert into daemon_pool_samples values ('payments'," + ms + ",2,2,0,1),('payments'," + ms + ",2,1,1,3)");
        }
        NetworkPolicyExport k8s = new NetworkPolicyExport() {
            public String format() {
                return "k8s";
            }

            public String fileName() {
                return "networkpolicy.yaml";
            }

            public String render(Path p, Optional<Path> o) {
                return "kind: NetworkPolicy\n";
            }
        };

        EvidenceBundle.Result r = build(List.of(k8s));

        String index = Files.readString(r.dir().resolve("index.html"));
        assertThat(r.gaps()).isEmpty();
        assertThat(index).contains("<section id=\"answer\" class=\"answer no\"><h2>Can agents reach production?</h2><p class=\"verdict\">No: ")
                .contains("payments: full audit of 2026-11-27 00:00:00 UTC, 1 production probe: all blocked")
                .contains("audit log: hash chain intact, 1 record (")
                .contains("PASS: 2 probes, 2 pass;").doesNotContain("{total=").doesNotContain("T00:00:00Z");
        assertThat(index).contains("NoNewPrivs: 1").contains("--disable-userns").contains("tproxy").contains("75.0%").contains("25.0%").contains("ready 1.5 avg / 2 max, desired 2.0 avg, in use 3 max (2 samples)")
                .contains("intact, 1 records").contains("export: k8s");
        assertThat(r.dir().resolve("projects/payments/networkpolicy.yaml")).hasContent("kind: NetworkPolicy");
        assertThat(r.dir().resolve("projects/payments/nftables-as-applied.nft")).content().contains("tproxy");
        assertThat(r.zip()).isEqualTo(tmp.resolve("evidence.zip"));
        try (ZipFile z = new ZipFile(r.zip().toFile())) {
            assertThat(z.getEntry("evidence/index.html")).isNotNull();
            assertThat(z.stream().filter(e -> e.getName().startsWith("evidence/audits/") && e.getName().endsWith("report.html"))).hasSize(1);
        }
    }

    @Test
    void build_brokenAuditLog_saysWhereItBreaks() throws Exception {
        try (AuditLog log = AuditLog.open(state.resolve("audit.log"), Clock.systemUTC())) {
            for (int i = 0; i < 2; i++) {
                log.submit(new AuditEvent(AuditEvent.Event.DECISION, "alk0123abcd", "payments", AuditEvent.Via.TRANSPARENT, "c", "n" + i, 443,
                        List.of(), AuditEvent.Decision.DENY, "-", Reason.NO_RULE, 0, 0, 0));
            }
        }
        Path f = state.resolve("audit.log");
        Files.writeString(f, Files.readString(f).replace("\"n1\"", "\"nX\""));
        assertThat(Files.readString(build(List.of()).dir().resolve("audit-log-verify.txt"))).contains("BROKEN at line 2");
    }

    @Test
    void build_partialLineMovedAside_isReportedAndCopied() throws Exception {
        Path f = state.resolve("audit.log");
        try (AuditLog log = AuditLog.open(f, Clock.systemUTC())) {
            log.submit(new AuditEvent(AuditEvent.Event.DECISION, "alk0123abcd", "payments", AuditEvent.Via.TRANSPARENT, "c", "n0", 443,
                    List.of(), AuditEvent.Decision.DENY, "-", Reason.NO_RULE, 0, 0, 0));
        }
        Files.writeString(f, "{\"seq\":2,\"ti", java.nio.file.StandardOpenOption.APPEND); // an append killed mid-write
        AuditLog.open(f, Clock.systemUTC()).close(); // the next writer moves it aside

        EvidenceBundle.Result r = build(List.of());
        assertThat(r.dir().resolve("audit-log-verify.txt")).content().contains("intact, 1 records")
                .contains("1 partial last line moved aside").contains("audit-log-torn.txt");
        assertThat(r.dir().resolve("audit-log-torn.txt")).content().contains("{\"seq\":2,\"ti");
    }

    @Test
    void poolMetrics_databaseWithoutClaimsTable_isStatedNotZero() throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + state.resolve("airlock.db"))) {
            c.createStatement().execute("create table other(x)");
        }
        PoolMetrics.Report r = PoolMetrics.read(state, NOW, Duration.ofDays(7));
        assertThat(r.projects()).isEmpty();
        assertThat(r.note()).contains("no claim table").contains("other");
    }

    private static BatteryRun run() {
        return new BatteryRun(new BatteryRun.Subject("payments", new BatteryRun.Hashed("/p", "a".repeat(64)), Optional.empty(), Optional.empty(),
                "t"), NOW, NOW.plusSeconds(1), "Linux", "alk0123abcd", Battery.Scope.FULL,
                new BatteryRun.Enforcement("inet alk_0123abcd", "table inet alk_0123abcd { tproxy }", "table inet alk_0123abcd {}"),
                new BatteryRun.Isolation(List.of("--unshare-user", "--disable-userns"), Map.of("NoNewPrivs", "1"), List.of("net: own"),
                        List.of("/ / ro"), Map.of("pids.max", "512")),
                List.of(new ProbeResult("files:state-dir", "files", "t", "x", Status.PASS, "o", "", List.of(), Optional.empty(), 1),
                        new ProbeResult("production:api.acme.com:443:transparent", "production", "api.acme.com:443", "x", Status.PASS, "o", "",
                                List.of(), Optional.empty(), 1)),
                new ArrayList<>());
    }
}
