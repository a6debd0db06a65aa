package dev.airlock.gateway.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.Reason;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon's side of forwarding: who may send, what it may send, and each record once. */
class AuditIngestTest {

    static final String TOKEN_P = "a".repeat(64);
    static final String TOKEN_Q = "b".repeat(64);
    static final String POD = "airlock-payments-gateway-5d8f-x2x9q";
    /** As the daemon names a project's gateway pods (ProjectNames.gateway() + "-"). */
    static final java.util.function.Function<String, String> PREFIX = p -> "airlock-" + p + "-gateway-";

    @TempDir
    Path dir;
    Path daemonFile;
    AuditLog daemonLog;
    AuditIngest ingest;

    @BeforeEach
    void open() throws Exception {
        daemonFile = dir.resolve("audit.log");
        daemonLog = AuditLog.open(daemonFile, Clock.systemUTC());
        ingest = AuditIngest.open(daemonLog, daemonFile, () -> Map.of("payments", TOKEN_P, "billing", TOKEN_Q), PREFIX, null);
    }

    @AfterEach
    void close() {
        daemonLog.close();
    }

    /** A gateway's log of {@code n} records of {@code project}, as its lines. */
    private List<String> gatewayLines(String name, String project, int n) throws Exception {
        Path file = dir.resolve(name);
        AuditLog gw = AuditLog.open(file, Clock.systemUTC());
        for (int i = 1; i <= n; i++) {
            gw.submit(new AuditEvent(AuditEvent.Event.DECISION, "local", project, AuditEvent.Via.EXPLICIT, "10.244.1.7:40000",
                    "host" + i + ".example", 443, List.of("198.18.0.10"), AuditEvent.Decision.DENY, "-", Reason.NO_RULE, 0, 0, 0));
        }
        gw.close();
        List<String> out = new ArrayList<>();
        try (var lines = AuditLogReader.lines(file)) {
            lines.forEach(l -> out.add(((AuditLogReader.Entry) l).text()));
        }
        return out;
    }

    private List<AuditRecord> daemonRecords() throws Exception {
        daemonLog.awaitWritten(java.time.Duration.ofSeconds(10));
        List<AuditRecord> out = new ArrayList<>();
        try (var lines = AuditLogReader.lines(daemonFile)) {
            lines.forEach(l -> out.add(((AuditLogReader.Entry) l).record()));
        }
        return out;
    }

    @Test
    void accept_projectToken_appendsEachRecordWithItsOrigin() throws Exception {
        List<String> lines = gatewayLines("gw.log", "payments", 3);

        AuditIngest.Answer a = ingest.accept(Optional.of(TOKEN_P), POD, lines);

        assertThat(a).isInstanceOfSatisfying(AuditIngest.Accepted.class, x -> {
            assertThat(x.appended()).isEqualTo(3);
            assertThat(x.acknowledged().seq()).isEqualTo(3);
        });
        List<AuditRecord> held = daemonRecords();
        assertThat(held).extracting(AuditRecord::name).containsExactly("host1.example", "host2.example", "host3.example");
        assertThat(held).extracting(r -> r.origin().map(Origin::source).orElse("")).containsOnly(POD);
        assertThat(held).extracting(r -> r.origin().map(Origin::seq).orElse(0L)).containsExactly(1L, 2L, 3L);
        assertThat(AuditLogReader.verify(daemonFile).intact()).isTrue();
    }

    @Test
    void accept_wrongOrMissingToken_refusedWith401_andNothingAppended() throws Exception {
        List<String> lines = gatewayLines("gw.log", "payments", 2);

        assertThat(ingest.accept(Optional.of("c".repeat(64)), POD, lines))
                .isInstanceOfSatisfying(AuditIngest.Refused.class, r -> assertThat(r.status()).isEqualTo(401));
        assertThat(ingest.accept(Optional.empty(), POD, lines))
                .isInstanceOfSatisfying(AuditIngest.Refused.class, r -> assertThat(r.status()).isEqualTo(401));
        assertThat(daemonRecords()).isEmpty();

        assertThat(ingest.accept(Optional.of(TOKEN_P), POD, lines)).isInstanceOf(AuditIngest.Accepted.class); // control
        assertThat(daemonRecords()).hasSize(2);
    }

    @Test
    void accept_anotherProjectsToken_cannotWriteAsThisProjectsPod() throws Exception {
        List<String> lines = gatewayLines("gw.log", "payments", 1);

        assertThat(ingest.accept(Optional.of(TOKEN_Q), POD, lines)).isInstanceOfSatisfying(AuditIngest.Refused.class, r -> {
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.why()).contains("not a gateway pod of project billing");
        });
        assertThat(daemonRecords()).isEmpty();
    }

    @Test
    void accept_recordsOfAnotherProject_refusedWith403() throws Exception {
        List<String> billing = gatewayLines("gw.log", "billing", 1);

        assertThat(ingest.accept(Optional.of(TOKEN_P), POD, billing)).isInstanceOfSatisfying(AuditIngest.Refused.class, r -> {
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.why()).contains("is of project billing");
        });
        assertThat(daemonRecords()).isEmpty();
    }

    @Test
    void accept_sameBatchTwice_appendsEachRecordOnce() throws Exception {
        List<String> lines = gatewayLines("gw.log", "payments", 4);
        ingest.accept(Optional.of(TOKEN_P), POD, lines.subList(0, 3));

        AuditIngest.Answer again = ingest.accept(Optional.of(TOKEN_P), POD, lines);

        assertThat(again).isInstanceOfSatisfying(AuditIngest.Accepted.class, x -> {
            assertThat(x.appended()).isEqualTo(1);
            assertThat(x.acknowledged().seq()).isEqualTo(4);
        });
        assertThat(daemonRecords()).extracting(r -> r.origin().orElseThrow().seq()).containsExactly(1L, 2L, 3L, 4L);
    }

    @Test
    void accept_gapInTheSourcesChain_refusedWith409() throws Exception {
        List<String> lines = gatewayLines("gw.log", "payments", 3);

        assertThat(ingest.accept(Optional.of(TOKEN_P), POD, lines.subList(1, 3))).isInstanceOfSatisfying(AuditIngest.Refused.class, r -> {
            assertThat(r.status()).isEqualTo(409);
            assertThat(r.why()).contains("does not continue").contains(ChainHead.EMPTY.toString());
        });
        assertThat(daemonRecords()).isEmpty();
    }

    @Test
    void accept_anotherChainUnderTheSameSource_refusedWith409() throws Exception {
        ingest.accept(Optional.of(TOKEN_P), POD, gatewayLines("gw.log", "payments", 2));
        List<String> other = gatewayLines("other.log", "payments", 2);

        assertThat(ingest.accept(Optional.of(TOKEN_P), POD, other))
                .isInstanceOfSatisfying(AuditIngest.Refused.class, r -> assertThat(r.why()).contains("a different chain"));
    }

    @Test
    void accept_editedRecord_refusedWith400() throws Exception {
        List<String> lines = new ArrayList<>(gatewayLines("gw.log", "payments", 2));
        lines.set(1, lines.get(1).replace("host2.example", "hostX.example"));

        assertThat(ingest.accept(Optional.of(TOKEN_P), POD, lines))
                .isInstanceOfSatisfying(AuditIngest.Refused.class, r -> assertThat(r.status()).isEqualTo(400));
        assertThat(daemonRecords()).isEmpty();
    }

    @Test
    void open_afterARestart_knowsWhatItHoldsFromItsOwnLog() throws Exception {
        List<String> lines = gatewayLines("gw.log", "payments", 5);
        ingest.accept(Optional.of(TOKEN_P), POD, lines.subList(0, 3));
        daemonLog.close();

        daemonLog = AuditLog.open(daemonFile, Clock.systemUTC());
        AuditIngest restarted = AuditIngest.open(daemonLog, daemonFile, () -> Map.of("payments", TOKEN_P), PREFIX, null);
        assertThat(restarted.head(POD).seq()).isEqualTo(3);
        AuditIngest.Answer a = restarted.accept(Optional.of(TOKEN_P), POD, lines);

        assertThat(a).isInstanceOfSatisfying(AuditIngest.Accepted.class, x -> assertThat(x.appended()).isEqualTo(2));
        assertThat(daemonRecords()).extracting(r -> r.origin().orElseThrow().seq()).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertThat(AuditLogReader.verify(daemonFile).intact()).isTrue();
    }
}
