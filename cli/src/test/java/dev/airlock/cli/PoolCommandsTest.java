package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.pool.usage.ClaimRecord;
import dev.airlock.pool.state.StateDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code airlock pool recommend} and {@code airlock pool simulate}: the command-line contract. */
class PoolCommandsTest {

    private static final Path EXAMPLES = Path.of("..", "examples");
    /** A Monday. */
    private static final Instant MONDAY = Instant.parse("2026-11-02T00:00:00Z");

    @TempDir
    Path dir;

    private Path policy(String pool) throws Exception {
        Path f = dir.resolve("airlock.yaml");
        Files.writeString(f, "version: 1\nproject: payments\npool: " + pool + "\n");
        return f;
    }

    /** Two weeks; Monday 09:00–10:00 has 60 claims each week, one a minute; Tuesday 03:00 has one claim. */
    private Path trace() throws Exception {
        StringBuilder b = new StringBuilder("# test trace\ntime,project,durationSeconds\n");
        for (int week = 0; week < 2; week++) {
            Instant nine = MONDAY.plus(Duration.ofDays(7L * week)).plus(Duration.ofHours(9));
            for (int i = 0; i < 60; i++) {
                b.append(nine.plusSeconds(60L * i)).append(",payments,600\n");
            }
        }
        b.append(MONDAY.plus(Duration.ofDays(8)).plus(Duration.ofHours(3))).append(",payments,60\n");
        Path f = dir.resolve("trace.csv");
        Files.writeString(f, b.toString());
        return f;
    }

    @Test
    void recommend_trace_printsTheBusyHourWithAlternatives() throws Exception {
        // 60 claims/h with T = 5 min: a = 5 erlangs; 98% needs 10 (B(10,5) = 0.0184), 9 gives 96.25%.
        Cli r = Cli.run("pool", "recommend", "--policy", policy("{ min: 0, max: 20, targetHitRate: 0.98 }").toString(),
                "--trace", trace().toString(), "--refill", "5m", "--zone", "UTC");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("pool recommendation for payments: target hit rate 98.00%, min 0, max 20");
        assertThat(r.out()).containsPattern("Mon 09:00-10:00 +60\\.0 +10 +98\\.16% +5\\.09 +\\| +9 +96\\.25% +4\\.19 +\\| +11 +99\\.17% +6\\.04");
        assertThat(r.out()).contains("refill time T: 300.0s (given with --refill)");
        assertThat(r.out()).doesNotContain("!:");
    }

    @Test
    void recommend_maxTooSmall_marksTheHourAndSaysTheFix() throws Exception {
        Cli r = Cli.run("pool", "recommend", "--policy", policy("{ min: 0, max: 8, targetHitRate: 0.98 }").toString(),
                "--trace", trace().toString(), "--refill", "5m", "--zone", "UTC");
        assertThat(r.code()).isZero();
        assertThat(r.out()).containsPattern("Mon 09:00-10:00 +60\\.0 +8 +92\\.99% +3\\.35!");
        assertThat(r.out()).contains("even pool.max (8) cannot meet the target in these hours; raise pool.max");
    }

    @Test
    void recommend_json_hasEveryHourAndTheFlag() throws Exception {
        Cli r = Cli.run("pool", "recommend", "--policy", policy("{ min: 0, max: 8, targetHitRate: 0.98 }").toString(),
                "--trace", trace().toString(), "--refill", "5m", "--zone", "UTC", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("meetsTarget").asBoolean()).isFalse();
        assertThat(j.get("hours")).hasSize(168);
        JsonNode nine = j.get("hours").get(9);
        assertThat(nine.get("label").asText()).isEqualTo("Mon 09:00");
        assertThat(nine.get("size").asInt()).isEqualTo(8);
        assertThat(nine.get("alternatives")).extracting(a -> a.get("size").asInt()).containsExactly(7, 8, 9);
        assertThat(j.get("refill").get("source").asText()).isEqualTo("given");
    }

    @Test
    void recommend_database_usesMeasuredRefill() throws Exception {
        Path db = dir.resolve("airlock.db");
        Instant hour = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(Duration.ofDays(7));
        List<ClaimRecord> records = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            records.add(ClaimRecord.warm("payments", hour.plusSeconds(60L * i), Duration.ofMillis(4), Duration.ofSeconds(90),
                    Duration.ofMinutes(20)));
        }
        try (StateDatabase store = StateDatabase.open(db)) {
            store.appendAll(records);
        }
        Cli r = Cli.run("pool", "recommend", "--policy", policy("{ min: 0, max: 10, targetHitRate: 0.95 }").toString(),
                "--db", db.toString(), "--zone", "UTC");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("history: database " + db).contains("60 claims")
                .contains("refill time T: 90.0s (mean of 60 measured preparations)");
    }

    @Test
    void recommend_stateDirectoryWithoutDatabase_saysWhereAndHowToFix() throws Exception {
        Cli r = Cli.run("pool", "recommend", "--policy", policy("{ min: 0, max: 10, targetHitRate: 0.95 }").toString(),
                "--state", dir.toString());
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("no usage history at " + dir.resolve("airlock.db")).contains("--trace FILE");
        assertThat(Files.exists(dir.resolve("airlock.db"))).as("a read-only command creates no database").isFalse();
    }

    @Test
    void recommend_badTraceLine_namesFileAndLine() throws Exception {
        Path f = dir.resolve("bad.csv");
        Files.writeString(f, "time,project,durationSeconds\n2026-11-02T09:00:00Z,payments,60\n2026-11-02 09:01,payments,60\n");
        Cli r = Cli.run("pool", "recommend", "--trace", f.toString(), "--project", "payments");
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains(f + ":3: invalid time").contains("fix:");
    }

    @Test
    void recommend_traceOfSeveralProjects_asksWhichOne() throws Exception {
        Path f = dir.resolve("two.csv");
        Files.writeString(f, "time,project,durationSeconds\n2026-11-02T09:00:00Z,payments,60\n2026-11-02T09:01:00Z,billing,60\n");
        Cli r = Cli.run("pool", "recommend", "--trace", f.toString());
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("2 projects (billing, payments)").contains("--project P");
    }

    @Test
    void recommend_invalidPolicy_printsItsProblem() throws Exception {
        Cli r = Cli.run("pool", "recommend", "--policy", policy("{ min: 5, max: 2 }").toString(), "--trace", trace().toString());
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("airlock.yaml:3").contains("pool.min (5) is above pool.max (2)");
    }

    @Test
    void simulate_fixedSize_reportsHitRateAndIdle() throws Exception {
        Cli r = Cli.run("pool", "simulate", "--trace", trace().toString(), "--size", "10", "--refill", "5m", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("claims").asInt()).isEqualTo(121);
        // One claim a minute with T = 5 min never needs more than 5 of the 10 members.
        assertThat(j.get("cold").asInt()).isZero();
        assertThat(j.get("idleSandboxHours").asDouble()).isPositive();
    }

    @Test
    void simulate_autoMode_beatsAFixedPoolOnIdleCost() throws Exception {
        Path p = policy("{ min: 0, max: 20, targetHitRate: 0.95 }");
        Cli auto = Cli.run("pool", "simulate", "--trace", trace().toString(), "--policy", p.toString(), "--refill", "exp:5m", "--zone", "UTC", "--json");
        Cli fixed = Cli.run("pool", "simulate", "--trace", trace().toString(), "--size", "10", "--refill", "exp:5m", "--json");
        assertThat(auto.code()).as(auto.err()).isZero();
        JsonNode a = new ObjectMapper().readTree(auto.out());
        JsonNode f = new ObjectMapper().readTree(fixed.out());
        assertThat(a.get("policy").asText()).isEqualTo("auto");
        assertThat(a.get("idleSandboxHours").asDouble()).isLessThan(f.get("idleSandboxHours").asDouble() / 5);
        assertThat(a.get("warm").asInt()).as("the two busy hours are warm; the lone 03:00 claim may not be").isGreaterThanOrEqualTo(115);
    }

    @Test
    void simulate_sizeAndPolicyTogether_refused() throws Exception {
        Cli r = Cli.run("pool", "simulate", "--trace", trace().toString(), "--size", "2", "--policy", policy("{ min: 0 }").toString(),
                "--refill", "1m");
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("exactly one of --size N");
    }

    @Test
    void simulate_badRefill_saysTheForm() throws Exception {
        Cli r = Cli.run("pool", "simulate", "--trace", trace().toString(), "--size", "2", "--refill", "30");
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("invalid --refill \"30\"").contains("45s");
    }

    @Test
    void simulate_exampleTrace_runs() {
        Cli r = Cli.run("pool", "simulate", "--trace", EXAMPLES.resolve("pool-trace.csv").toString(), "--size", "3", "--refill", "exp:2m");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("replayed 2960 claims of payments").contains("warm hit rate");
    }

    @Test
    void simulate_database_replaysTheRecordedClaims() throws Exception {
        Path db = dir.resolve("airlock.db");
        Instant start = Instant.now().minus(Duration.ofDays(3));
        List<ClaimRecord> records = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            records.add(ClaimRecord.cold("payments", start.plusSeconds(600L * i), Duration.ofSeconds(3), Duration.ofSeconds(3)));
        }
        records.add(ClaimRecord.failed("billing", start, Duration.ZERO));
        try (StateDatabase store = StateDatabase.open(db)) {
            store.appendAll(records);
        }
        Cli r = Cli.run("pool", "simulate", "--db", db.toString(), "--project", "payments", "--size", "1", "--refill", "1m", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("claimsFrom").asText()).isEqualTo(db.toString());
        assertThat(j.get("claims").asInt()).isEqualTo(30);
        // Claims 10 minutes apart, refills of 1 minute: one member serves every claim.
        assertThat(j.get("warm").asInt()).isEqualTo(30);
    }

    @Test
    void simulate_noClaimSource_saysWhichOptions() {
        Cli r = Cli.run("pool", "simulate", "--size", "1", "--refill", "1m");
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("--trace FILE, or --db FILE/--state DIR");
    }

    @Test
    void status_policyThatDidNotReload_printsItsProblemsUnderTheTable_andNothingWhenTheFilesLoad() throws Exception {
        JsonNode status = new ObjectMapper().readTree("""
                {"projects": [
                  {"project": "payments", "policyError": "/srv/p/airlock.yaml:4:11: wildcard \\"*.com\\" covers a public suffix; fix: name the domain\\n/etc/airlock/org.yaml:2:3: unknown key; fix: remove it"},
                  {"project": "scratch", "policyError": null}
                ]}""");
        java.io.StringWriter out = new java.io.StringWriter();

        PoolStatusCommand.policyErrors(new java.io.PrintWriter(out, true), status);

        assertThat(out.toString()).isEqualTo("""

                policy of payments did not reload; the old policy stays in force:
                  /srv/p/airlock.yaml:4:11: wildcard "*.com" covers a public suffix; fix: name the domain
                  /etc/airlock/org.yaml:2:3: unknown key; fix: remove it
                """);
    }

    @Test
    void status_projectsOnImages_listTheirDigestsUnderTheTable_andNothingWithoutImages() throws Exception {
        String digest = "sha256:" + "ab".repeat(32);
        JsonNode status = new ObjectMapper().readTree("{\"projects\": [{\"project\": \"payments\", \"image\": \"" + digest + "\"},"
                + " {\"project\": \"scratch\"}]}");
        java.io.StringWriter out = new java.io.StringWriter();
        PoolStatusCommand.images(new java.io.PrintWriter(out, true), status);
        assertThat(out.toString()).isEqualTo("\nimages:\n  payments             " + digest + "\n");

        java.io.StringWriter none = new java.io.StringWriter();
        PoolStatusCommand.images(new java.io.PrintWriter(none, true), new ObjectMapper().readTree("{\"projects\": [{\"project\": \"scratch\"}]}"));
        assertThat(none.toString()).isEmpty();
    }

    @Test
    void status_coldRuns_printRunningAndSinceStartPerProject_andNothingWhenThereWereNone() throws Exception {
        JsonNode status = new ObjectMapper().readTree("""
                {"projects": [], "coldRuns": {"running": 1, "total": 3, "projects": [
                  {"project": "cold-b", "running": 1, "total": 2}, {"project": "scratch", "running": 0, "total": 1}]}}""");
        java.io.StringWriter out = new java.io.StringWriter();
        PoolStatusCommand.coldRuns(new java.io.PrintWriter(out, true), status);
        assertThat(out.toString()).isEqualTo("""

                cold runs (policies the daemon does not pool): 1 running, 3 since the daemon started
                  PROJECT              RUNNING   TOTAL
                  cold-b                     1       2
                  scratch                    0       1
                """);

        java.io.StringWriter none = new java.io.StringWriter();
        PoolStatusCommand.coldRuns(new java.io.PrintWriter(none, true),
                new ObjectMapper().readTree("{\"projects\": [], \"coldRuns\": {\"running\": 0, \"total\": 0, \"projects\": []}}"));
        assertThat(none.toString()).isEmpty();
    }
}
