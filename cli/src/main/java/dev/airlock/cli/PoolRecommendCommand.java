package dev.airlock.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.airlock.pool.sim.Distribution;
import dev.airlock.pool.sim.TraceClaim;
import dev.airlock.pool.sim.TraceException;
import dev.airlock.pool.sim.TraceFile;
import dev.airlock.pool.sizing.Choice;
import dev.airlock.pool.sizing.Demand;
import dev.airlock.pool.sizing.HourOfWeek;
import dev.airlock.pool.sizing.Recommendation;
import dev.airlock.pool.sizing.RefillEstimate;
import dev.airlock.pool.usage.ClaimRecord;
import dev.airlock.pool.state.StateDatabase;
import dev.airlock.pool.state.StateDatabaseException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "recommend",
        mixinStandardHelpOptions = true,
        description = {
            "Recommend the pool size for each hour of the week from measured usage.",
            "Each hour gets the smallest size in [pool.min, pool.max] whose expected warm hit rate,",
            "1 - B(S, λT) by Erlang-B, meets pool.targetHitRate; λ is the measured claim rate of that hour",
            "of the week, T the measured refill time. Each row also shows the size one smaller and one larger,",
            "with their hit rates and idle cost (ready, unclaimed members = idle sandbox-hours per hour)."
        },
        footer = {"", "The history is the daemon's usage database ($AIRLOCK_STATE/airlock.db by default) or a trace",
            "(CSV: time,project,durationSeconds). See docs/pool-sizing.md.",
            "", "Examples:",
            "  airlock pool recommend --policy examples/airlock.yaml --trace examples/pool-trace.csv --zone UTC",
            "  airlock pool recommend --state /var/lib/airlock --json",
            "", "Exit codes: 0 recommended (hours that cannot meet the target even at pool.max are marked !,",
            "and \"meetsTarget\": false in JSON); 1 invalid input; 125 the database cannot be read."})
final class PoolRecommendCommand implements Callable<Integer> {

    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm", Locale.ROOT);

    @Spec
    CommandSpec spec;

    @Option(names = "--policy", paramLabel = "FILE",
            description = "Project policy whose pool: block (min, max, targetHitRate) applies (default: ./airlock.yaml if it exists, else min 0, max 10, target 0.95).")
    Path policy;

    @Option(names = "--db", paramLabel = "FILE", description = "The usage database (default: STATE/airlock.db).")
    Path db;

    @Option(names = "--state", paramLabel = "DIR", description = "Airlock's state directory (default: $AIRLOCK_STATE, else /var/lib/airlock for root).")
    Path state;

    @Option(names = "--trace", paramLabel = "FILE", description = "Read claims from a trace (CSV time,project,durationSeconds) instead of the database.")
    Path trace;

    @Option(names = "--project", paramLabel = "P", description = "The project to size (default: the policy's project, or the trace's only one).")
    String project;

    @Option(names = "--weeks", paramLabel = "N", defaultValue = "4",
            description = "How many weeks of database history to use (default: 4; a trace is used whole).")
    int weeks;

    @Option(names = "--refill", paramLabel = "DUR",
            description = "Refill time T to assume instead of the measured one (45s, 2m, …). A trace records none: the default is "
                    + "30s unless this is given.")
    String refill;

    @Option(names = "--zone", paramLabel = "ZONE", description = "Time zone whose wall clock defines the hours of the week (default: the system's).")
    String zone;

    @Option(names = "--json", description = "Print one JSON object (all 168 hours) instead of text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Optional<PoolInputs.PolicyChoice> policyChoice = PoolInputs.policy(policy, err);
        if (policyChoice.isEmpty()) {
            return ExitCodes.BAD_INPUT;
        }
        Recommendation r;
        String historySource;
        try {
            if (weeks < 1 || weeks > 52) {
                throw new PoolInputs.BadInput("invalid --weeks " + weeks + "; write a whole number of weeks from 1 to 52");
            }
            ZoneId zoneId = PoolInputs.zone(zone);
            Optional<Duration> refillOverride = refill == null ? Optional.empty()
                    : Optional.of(((Distribution.Fixed) fixedDuration(refill)).mean());
            if (trace != null) {
                if (db != null || state != null) {
                    throw new PoolInputs.BadInput("--trace replaces the database; drop --db/--state, or drop --trace");
                }
                List<TraceClaim> all = TraceFile.read(trace);
                String p = PoolInputs.project(project, policyChoice.get(), all, trace);
                List<TraceClaim> claims = PoolInputs.ofProject(all, p, trace);
                RefillEstimate t = refillOverride.map(RefillEstimate::given)
                        .orElseGet(() -> new RefillEstimate(RefillEstimate.DEFAULT, 0, RefillEstimate.Source.DEFAULT));
                Demand demand = Demand.covering(claims.stream().map(TraceClaim::time).toList(), zoneId, t);
                r = Recommendation.compute(p, demand, policyChoice.get().settings());
                historySource = "trace " + trace;
            } else {
                Path file = PoolInputs.database(db, state);
                String p = project != null ? project : policyChoice.get().project().orElseThrow(() -> new PoolInputs.BadInput(
                        "which project? pass --project P, or --policy F (no airlock.yaml here)"));
                Instant now = Clock.systemUTC().instant();
                Duration window = Duration.ofDays(7L * weeks);
                List<ClaimRecord> records;
                try (StateDatabase store = StateDatabase.open(file)) {
                    records = store.query(p, now.minus(window));
                }
                r = Recommendation.compute(p, Demand.recent(records, now, window, zoneId, refillOverride), policyChoice.get().settings());
                historySource = "database " + file;
            }
        } catch (PoolInputs.BadInput | TraceException e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.BAD_INPUT;
        } catch (StateDatabaseException e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.AIRLOCK_ERROR;
        }
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(toJson(r, historySource, policyChoice.get())));
        } else {
            printHuman(out, r, historySource, policyChoice.get());
        }
        return ExitCodes.OK;
    }

    private static dev.airlock.pool.sim.Distribution fixedDuration(String value) throws PoolInputs.BadInput {
        dev.airlock.pool.sim.Distribution d = PoolInputs.distribution("--refill", value);
        if (!(d instanceof Distribution.Fixed)) {
            throw new PoolInputs.BadInput("invalid --refill \"" + value + "\"; recommend uses the mean only: write it as 45s, 2m, …");
        }
        return d;
    }

    private static void printHuman(PrintWriter out, Recommendation r, String historySource, PoolInputs.PolicyChoice policy) {
        Demand d = r.demand();
        var s = r.settings();
        out.printf(Locale.ROOT, "pool recommendation for %s: target hit rate %s, min %d, max %d (%s)%n", r.project(),
                percent(s.targetHitRate()), s.min(), s.max(), policy.source());
        out.printf(Locale.ROOT, "history: %s, %s to %s %s, %.1f weeks, %d claims%n", historySource, WHEN.format(d.from().atZone(d.zone())),
                WHEN.format(d.to().atZone(d.zone())), d.zone(), d.weeks(), d.claims());
        out.printf(Locale.ROOT, "refill time T: %s%n", refillText(d.refill()));
        out.println();
        out.printf(Locale.ROOT, "%-23s %8s  %4s %8s %6s  | %4s %8s %6s  | %4s %8s %6s%n",
                "hours (" + d.zone() + ")", "claims/h", "size", "hit", "idle", "-1", "hit", "idle", "+1", "hit", "idle");
        boolean anyUnobserved = false;
        for (Recommendation.Span span : r.spans()) {
            anyUnobserved |= !span.observed();
            out.printf(Locale.ROOT, "%-23s %8.1f%s %4d %8s %6.2f%s | %s  | %s%n", hours(span), span.claimsPerHour(), span.observed() ? " " : "*",
                    span.chosen().size(), percent(span.chosen().hitRate()), span.chosen().idleMembers(), span.meetsTarget() ? " " : "!",
                    span.smaller().map(PoolRecommendCommand::choice).orElse(String.format(Locale.ROOT, "%4s %8s %6s", "-", "", "")),
                    choice(span.larger()));
        }
        out.println();
        out.printf(Locale.ROOT, "over the week: expected hit rate %s (claims-weighted), %.1f idle sandbox-hours%n",
                percent(r.weeklyHitRate()), r.weeklyIdleSandboxHours());
        out.println("hit: the worst hour's expected warm hit rate in the span; idle: mean ready, unclaimed members (= idle sandbox-hours per hour)");
        if (anyUnobserved) {
            out.println("*: hours the history never covered; they assume the history's overall claim rate");
        }
        if (r.anyMissesTarget()) {
            out.println("!: even pool.max (" + s.max() + ") cannot meet the target in these hours; raise pool.max in the policy, "
                    + "or accept the lower hit rate shown");
        }
    }

    private static String choice(Choice c) {
        return String.format(Locale.ROOT, "%4d %8s %6.2f", c.size(), percent(c.hitRate()), c.idleMembers());
    }

    /** "Mon 09:00-10:00", or "Mon 10:00-Sun 24:00" across days. */
    static String hours(Recommendation.Span span) {
        HourOfWeek first = span.first();
        HourOfWeek last = span.last();
        String end = String.format(Locale.ROOT, "%02d:00", last.hour() + 1);
        String day = last.day() == first.day() ? "" : last.label().substring(0, 4);
        return first.label() + "-" + day + end;
    }

    /** Two decimals, never rounding up to 100.00% unless it is exactly 1. */
    static String percent(double p) {
        double floored = Math.floor(p * 10000) / 100;
        return String.format(Locale.ROOT, "%.2f%%", floored);
    }

    static String refillText(RefillEstimate t) {
        String mean = String.format(Locale.ROOT, "%.1fs", t.seconds());
        return switch (t.source()) {
            case MEASURED -> mean + " (mean of " + t.samples() + " measured preparations)";
            case GIVEN -> mean + " (given with --refill)";
            case DEFAULT -> mean + " (the default: nothing measured; pass --refill to assume another)";
        };
    }

    private static Map<String, Object> toJson(Recommendation r, String historySource, PoolInputs.PolicyChoice policy) {
        Demand d = r.demand();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("project", r.project());
        m.put("policy", policy.source());
        m.put("min", r.settings().min());
        m.put("max", r.settings().max());
        m.put("targetHitRate", r.settings().targetHitRate());
        m.put("zone", d.zone().getId());
        Map<String, Object> history = new LinkedHashMap<>();
        history.put("source", historySource);
        history.put("from", d.from().toString());
        history.put("to", d.to().toString());
        history.put("weeks", d.weeks());
        history.put("claims", d.claims());
        m.put("history", history);
        Map<String, Object> refill = new LinkedHashMap<>();
        refill.put("seconds", d.refill().seconds());
        refill.put("samples", d.refill().samples());
        refill.put("source", d.refill().source().label);
        m.put("refill", refill);
        m.put("meetsTarget", !r.anyMissesTarget());
        m.put("weeklyHitRate", r.weeklyHitRate());
        m.put("weeklyIdleSandboxHours", r.weeklyIdleSandboxHours());
        List<Map<String, Object>> hours = new ArrayList<>();
        for (Recommendation.HourPlan p : r.hours()) {
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("hourOfWeek", p.hour().index());
            h.put("label", p.hour().label());
            h.put("claimsPerHour", p.demand().ratePerHour());
            h.put("observed", p.demand().observed());
            h.put("offeredLoad", p.offeredLoad());
            h.put("size", p.chosen().size());
            h.put("hitRate", p.chosen().hitRate());
            h.put("idle", p.chosen().idleMembers());
            h.put("meetsTarget", p.meetsTarget());
            List<Map<String, Object>> alternatives = new ArrayList<>();
            p.smaller().ifPresent(c -> alternatives.add(choiceJson(c)));
            alternatives.add(choiceJson(p.chosen()));
            alternatives.add(choiceJson(p.larger()));
            h.put("alternatives", alternatives);
            hours.add(h);
        }
        m.put("hours", hours);
        return m;
    }

    private static Map<String, Object> choiceJson(Choice c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("size", c.size());
        m.put("hitRate", c.hitRate());
        m.put("idle", c.idleMembers());
        return m;
    }
}
