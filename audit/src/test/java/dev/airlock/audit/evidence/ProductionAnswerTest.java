package dev.airlock.audit.evidence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.evidence.ProductionAnswer.Chain;
import dev.airlock.audit.evidence.ProductionAnswer.Verdict;
import dev.airlock.audit.report.ReportStore;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ProductionAnswerTest {

    static final Chain INTACT = new Chain(Optional.of(true), "hash chain intact, 12 records");

    static Optional<ReportStore.Entry> audit(String scope, Map<String, String> statuses) {
        return Optional.of(new ReportStore.Entry(Path.of("/state/audits/x"), Instant.parse("2026-11-27T10:11:12.123456789Z"), "payments",
                "pass", scope, "a".repeat(64), Optional.empty(), Map.of("total", (long) statuses.size()), statuses));
    }

    static Map<String, Optional<ReportStore.Entry>> one(Optional<ReportStore.Entry> a) {
        Map<String, Optional<ReportStore.Entry>> m = new LinkedHashMap<>();
        m.put("payments", a);
        return m;
    }

    @Test
    void of_everyProductionProbeBlocked_andChainIntact_isNo_namingTheAuditAndWhen() {
        ProductionAnswer a = ProductionAnswer.of(true, one(audit("full", Map.of("production:a:443", "pass", "production:b:443", "pass",
                "files:x", "pass"))), INTACT);
        assertThat(a.verdict()).isEqualTo(Verdict.NO);
        assertThat(a.lines()).containsExactly("payments: full audit of 2026-11-27 10:11:12 UTC, 2 production probes: all blocked, each shown"
                + " by a positive control or the gateway's deny record", "audit log: hash chain intact, 12 records");
    }

    @Test
    void of_productionBlockedButOtherProbesFailed_isStillNo_andSaysTheAuditFailedElsewhere() {
        ProductionAnswer a = ProductionAnswer.of(true, one(audit("full", Map.of("production:a:443", "pass", "files:x", "fail",
                "host-service:ssh", "error", "dns:y", "pass"))), INTACT);
        assertThat(a.verdict()).isEqualTo(Verdict.NO);
        assertThat(a.lines().get(0)).endsWith("all blocked, each shown by a positive control or the gateway's deny record;"
                + " the same audit failed 2 other probes (not production): see its report below");
    }

    @Test
    void of_aProductionProbeReachedItsTarget_isYes_evenWithABrokenChain() {
        ProductionAnswer a = ProductionAnswer.of(true, one(audit("full", Map.of("production:a:443", "fail"))),
                new Chain(Optional.of(false), "hash chain BROKEN at line 3"));
        assertThat(a.verdict()).isEqualTo(Verdict.YES);
        assertThat(a.lines().get(0)).endsWith("1 REACHED production");
    }

    @Test
    void of_missingEvidence_isNotShown_neverNo() {
        assertThat(ProductionAnswer.of(true, one(Optional.empty()), INTACT).verdict()).as("no audit").isEqualTo(Verdict.NOT_SHOWN);
        assertThat(ProductionAnswer.of(true, one(audit("full", Map.of("production:a:443", "not-reachable-here"))), INTACT).verdict())
                .as("inconclusive probe").isEqualTo(Verdict.NOT_SHOWN);
        assertThat(ProductionAnswer.of(true, one(audit("full", Map.of("files:x", "pass"))), INTACT).verdict()).as("no production probe")
                .isEqualTo(Verdict.NOT_SHOWN);
        assertThat(ProductionAnswer.of(true, one(audit("full", Map.of("production:a:443", "pass"))),
                new Chain(Optional.of(false), "hash chain BROKEN at line 3")).verdict()).as("broken chain").isEqualTo(Verdict.NOT_SHOWN);
        assertThat(ProductionAnswer.of(true, one(audit("full", Map.of("production:a:443", "pass"))), new Chain(Optional.empty(), "no audit log"))
                .verdict()).as("no log").isEqualTo(Verdict.NOT_SHOWN);
        assertThat(ProductionAnswer.of(false, one(audit("full", Map.of("production:a:443", "pass"))), INTACT).verdict())
                .as("no production set").isEqualTo(Verdict.NOT_SHOWN);
        assertThat(ProductionAnswer.of(true, Map.of(), INTACT).verdict()).as("no project").isEqualTo(Verdict.NOT_SHOWN);
    }
}
