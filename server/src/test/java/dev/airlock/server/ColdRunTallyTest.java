package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.airlock.runtime.RunAs;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Runs of policies the daemon does not pool are visible: in the sandbox list, the status and /metrics, while they run and after. */
class ColdRunTallyTest {

    private static final Instant T0 = Instant.parse("2026-12-07T16:00:00Z");

    private final PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ColdRunTally tally = new ColdRunTally(meters);

    private static ColdRunTally.Entry run(String id, String project, Instant at, RunAs as) {
        return new ColdRunTally.Entry(id, project, Path.of("/home/dev/" + project), "/home/dev/" + project + "/airlock.yaml", at, as);
    }

    @Test
    void coldRun_whileItRuns_isListedWithItsFields_andIsGoneAfterItsFinish() {
        tally.started(run("alk0000000a", "cold-b", T0, new RunAs(4242, 4243)));

        JsonNode listed = StatusView.coldRun(tally.live().get(0));
        assertThat(listed.path("sandbox").asText()).isEqualTo("alk0000000a");
        assertThat(listed.path("project").asText()).isEqualTo("cold-b");
        assertThat(listed.path("state").asText()).isEqualTo("cold-run");
        assertThat(listed.path("workspace").asText()).isEqualTo("/home/dev/cold-b");
        assertThat(listed.path("policy").asText()).isEqualTo("/home/dev/cold-b/airlock.yaml");
        assertThat(listed.path("createdAt").asText()).isEqualTo("2026-12-07T16:00:00Z");
        assertThat(listed.path("runAs").asText()).isEqualTo("4242:4243");

        tally.finished("alk0000000a");
        assertThat(tally.live()).isEmpty();
    }

    @Test
    void runAs_withoutASudoCaller_isNobody() {
        assertThat(run("alk0000000a", "cold-b", T0, RunAs.nobody()).runAs()).isEqualTo("nobody");
    }

    @Test
    void live_isOldestFirst() {
        tally.started(run("alk0000000b", "cold-b", T0.plusSeconds(5), RunAs.nobody()));
        tally.started(run("alk0000000a", "cold-c", T0, RunAs.nobody()));
        assertThat(tally.live()).extracting(ColdRunTally.Entry::id).containsExactly("alk0000000a", "alk0000000b");
    }

    @Test
    void coldRuns_countRunningAndTotalPerProject_andTheRunningCountReturnsToZero() {
        tally.started(run("alk0000000a", "cold-b", T0, RunAs.nobody()));
        tally.started(run("alk0000000b", "cold-b", T0, RunAs.nobody()));
        tally.started(run("alk0000000c", "cold-c", T0, RunAs.nobody()));
        tally.finished("alk0000000a");

        JsonNode status = StatusView.coldRuns(tally);
        assertThat(status.path("running").asLong()).isEqualTo(2);
        assertThat(status.path("total").asLong()).isEqualTo(3);
        assertThat(status.path("projects").toString())
                .isEqualTo("[{\"project\":\"cold-b\",\"running\":1,\"total\":2},{\"project\":\"cold-c\",\"running\":1,\"total\":1}]");

        tally.finished("alk0000000b");
        tally.finished("alk0000000c");
        assertThat(StatusView.coldRuns(tally).path("running").asLong()).isZero();
        assertThat(StatusView.coldRuns(tally).path("total").asLong()).as("since the daemon started").isEqualTo(3);
    }

    @Test
    void coldRuns_withNoneSinceStart_isAnEmptySection() {
        assertThat(StatusView.coldRuns(tally).toString()).isEqualTo("{\"running\":0,\"total\":0,\"projects\":[]}");
    }

    @Test
    void metrics_countEachRunOnce_andTheActiveGaugeReturnsToZero() {
        tally.started(run("alk0000000a", "cold-b", T0, RunAs.nobody()));
        assertThat(meters.scrape()).contains("airlock_cold_runs_active{project=\"cold-b\"} 1.0")
                .contains("airlock_cold_runs_total{project=\"cold-b\"} 1.0");

        tally.finished("alk0000000a");
        tally.finished("alk0000000a"); // finish is idempotent: the gauge does not go below zero
        tally.started(run("alk0000000b", "cold-b", T0, RunAs.nobody()));
        tally.finished("alk0000000b");

        assertThat(meters.scrape()).contains("airlock_cold_runs_active{project=\"cold-b\"} 0.0")
                .contains("airlock_cold_runs_total{project=\"cold-b\"} 2.0");
    }

    @Test
    void metrics_pastTheLabelCap_countUnderOneSharedLabel_whileStatusKeepsEveryProject() {
        for (int i = 0; i < ColdRunTally.MAX_PROJECT_LABELS + 3; i++) {
            tally.started(run(String.format("alk%08x", i), "p" + i, T0, RunAs.nobody()));
        }
        String scrape = meters.scrape();
        assertThat(scrape.lines().filter(l -> l.startsWith("airlock_cold_runs_active{"))).hasSize(ColdRunTally.MAX_PROJECT_LABELS + 1);
        assertThat(scrape).contains("airlock_cold_runs_active{project=\"_other\"} 3.0").contains("airlock_cold_runs_total{project=\"_other\"} 3.0")
                .contains("airlock_cold_runs_active{project=\"p0\"} 1.0");
        assertThat(StatusView.coldRuns(tally).path("projects")).hasSize(ColdRunTally.MAX_PROJECT_LABELS + 3);

        for (int i = 0; i < ColdRunTally.MAX_PROJECT_LABELS + 3; i++) {
            tally.finished(String.format("alk%08x", i));
        }
        assertThat(meters.scrape()).contains("airlock_cold_runs_active{project=\"_other\"} 0.0");
    }
}
