package dev.airlock.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.airlock.pool.sim.Distribution;
import dev.airlock.pool.sim.PoolSimulator;
import dev.airlock.pool.sim.SimulationReport;
import dev.airlock.pool.sim.SizingPolicy;
import dev.airlock.pool.sim.TraceClaim;
import dev.airlock.pool.sim.TraceException;
import dev.airlock.pool.sim.TraceFile;
import dev.airlock.pool.sizing.AutoSizer;
import dev.airlock.pool.sizing.Demand;
import dev.airlock.pool.sizing.ErlangB;
import dev.airlock.pool.sizing.Recommendation;
import dev.airlock.pool.sizing.RefillEstimate;
import dev.airlock.pool.state.StateDatabase;
import dev.airlock.pool.state.StateDatabaseException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneId;
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

@Command(name = "simulate",
        mixinStandardHelpOptions = true,
        description = {
            "Replay a usage trace against a pool; report the warm hit rate and idle sandbox-hours.",
            "--size N keeps a fixed pool; --policy F runs auto mode with the per-hour recommendation computed",
            "from this same trace (in-sample: what auto mode would have achieved on this history).",
            "Each claim takes a ready member and starts a refill lasting --refill; a claim that finds none",
            "ready is a cold start. Deterministic for a given --seed."
        },
        footer = {"", "Claims come from --trace FILE, or from the daemon's history with --db FILE or --state DIR",
            "(recorded claims keep no hold time: pass --hold for the in-use figures).",
            "", "DUR is 45s, 500ms, 2m or 1h (fixed) or exp:45s (exponential with that mean).",
            "", "Examples:",
            "  airlock pool simulate --trace examples/pool-trace.csv --size 3 --refill 2m",
            "  airlock pool simulate --trace examples/pool-trace.csv --policy examples/airlock.yaml --refill exp:2m --zone UTC",
            "", "Exit codes: 0 simulated; 1 invalid input; 125 the database cannot be read."})
final class PoolSimulateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--trace", paramLabel = "FILE", description = "The claims to replay (CSV time,project,durationSeconds).")
    Path trace;

    @Option(names = "--db", paramLabel = "FILE", description = "Replay the daemon's recorded claims from this database instead of a trace.")
    Path db;

    @Option(names = "--state", paramLabel = "DIR", description = "Replay the recorded claims in DIR/airlock.db instead of a trace.")
    Path state;

    @Option(names = "--weeks", paramLabel = "N", defaultValue = "4", description = "Weeks of database history to replay (default: 4).")
    int weeks;

    @Option(names = "--size", paramLabel = "N", description = "Keep a fixed pool of N members.")
    Integer size;

    @Option(names = "--policy", paramLabel = "FILE", description = "Run auto mode with this policy's pool: block (min, max, targetHitRate).")
    Path policy;

    @Option(names = "--refill", paramLabel = "DUR", required = true, description = "How long one refill takes.")
    String refill;

    @Option(names = "--hold", paramLabel = "DUR", description = "How long each claim holds its sandbox, instead of the trace's durationSeconds.")
    String hold;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "Seed for drawn durations (default: 1).")
    long seed;

    @Option(names = "--project", paramLabel = "P", description = "The project to replay (default: the policy's, or the trace's only one).")
    String project;

    @Option(names = "--zone", paramLabel = "ZONE", description = "Time zone whose wall clock defines the hours of the week (default: the system's).")
    String zone;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (trace == null && db == null && state == null) {
            err.println("airlock: pass the claims to replay: --trace FILE, or --db FILE/--state DIR for the daemon's history");
            return ExitCodes.BAD_INPUT;
        }
        if ((size == null) == (policy == null)) {
            err.println("airlock: pass exactly one of --size N (a fixed pool) and --policy F (auto mode)");
            return ExitCodes.BAD_INPUT;
        }
        SimulationReport report;
        SizingPolicy sizing;
        String p;
        String source;
        List<TraceClaim> claims;
        double predicted;
        Distribution refillTime;
        try {
            refillTime = PoolInputs.distribution("--refill", refill);
            Optional<Distribution> holdTime = hold == null ? Optional.empty() : Optional.of(PoolInputs.distribution("--hold", hold));
            ZoneId zoneId = PoolInputs.zone(zone);
            List<TraceClaim> all;
            if (trace != null) {
                if (db != null || state != null) {
                    throw new PoolInputs.BadInput("--trace replaces the database; drop --db/--state, or drop --trace");
                }
                all = TraceFile.read(trace);
                source = trace.toString();
            } else {
                if (weeks < 1 || weeks > 52) {
                    throw new PoolInputs.BadInput("invalid --weeks " + weeks + "; write a whole number of weeks from 1 to 52");
                }
                Path file = PoolInputs.database(db, state);
                try (StateDatabase store = StateDatabase.open(file)) {
                    all = TraceFile.fromRecords(store.queryAll(Clock.systemUTC().instant().minus(Duration.ofDays(7L * weeks))));
                } catch (StateDatabaseException e) {
                    err.println("airlock: " + e.getMessage());
                    return ExitCodes.AIRLOCK_ERROR;
                }
                if (all.isEmpty()) {
                    throw new PoolInputs.BadInput(file + " holds no claims from the last " + weeks + " weeks; pass --trace FILE, or more --weeks");
                }
                source = file.toString();
            }
            PoolInputs.PolicyChoice choice;
            if (policy != null) {
                Optional<PoolInputs.PolicyChoice> loaded = PoolInputs.policy(policy, err);
                if (loaded.isEmpty()) {
                    return ExitCodes.BAD_INPUT;
                }
                choice = loaded.get();
            } else {
                if (size < 0) {
                    throw new PoolInputs.BadInput("invalid --size " + size + "; write a pool size of 0 or more");
                }
                choice = new PoolInputs.PolicyChoice(Optional.empty(), dev.airlock.policy.model.ProjectPolicy.PoolSettings.DEFAULT, "--size");
            }
            p = PoolInputs.project(project, choice, all, Path.of(source));
            claims = PoolInputs.ofProject(all, p, Path.of(source));
            Demand demand = Demand.covering(claims.stream().map(TraceClaim::time).toList(), zoneId, RefillEstimate.given(refillTime.mean()));
            if (size != null) {
                sizing = new SizingPolicy.Fixed(size);
                // What Erlang-B predicts if the trace's claims came at one constant rate: a yardstick only.
                double overallRate = demand.claims() / (Duration.between(demand.from(), demand.to()).toNanos() / 1e9);
                predicted = ErlangB.hitRate(size, overallRate * demand.refill().seconds());
            } else {
                Recommendation r = Recommendation.compute(p, demand, choice.settings());
                sizing = new SizingPolicy.Auto(new AutoSizer(r, Clock.systemUTC()));
                predicted = r.weeklyHitRate();
            }
            report = PoolSimulator.run(claims, sizing, refillTime, holdTime, seed);
        } catch (PoolInputs.BadInput | TraceException e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.BAD_INPUT;
        }
        String policyText = sizing instanceof SizingPolicy.Fixed f ? "fixed size " + f.size() : "auto mode (" + policy + ")";
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("project", p);
            m.put("claimsFrom", source);
            m.put("policy", sizing instanceof SizingPolicy.Fixed ? "fixed" : "auto");
            m.put("size", size);
            m.put("refill", refillTime.toString());
            m.put("seed", seed);
            m.put("claims", report.claims());
            m.put("warm", report.warm());
            m.put("cold", report.cold());
            m.put("hitRate", report.hitRate());
            m.put("predictedHitRate", predicted);
            m.put("hours", report.hours());
            m.put("idleSandboxHours", report.idleSandboxHours());
            m.put("idlePerHour", report.idlePerHour());
            m.put("warmingSandboxHours", report.warmingSandboxHours());
            m.put("inUseSandboxHours", report.inUseSandboxHours());
            m.put("peakInUse", report.peakInUse());
            m.put("refills", report.refills());
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(m));
        } else {
            out.printf(Locale.ROOT, "replayed %d claims of %s from %s against %s, refill %s, seed %d%n", report.claims(), p, source,
                    policyText, refillTime, seed);
            out.printf(Locale.ROOT, "  warm hit rate      %s (%d warm, %d cold)%n", PoolRecommendCommand.percent(report.hitRate()),
                    report.warm(), report.cold());
            out.printf(Locale.ROOT, "  Erlang-B expected  %s (%s)%n", PoolRecommendCommand.percent(predicted), sizing instanceof SizingPolicy.Fixed
                    ? "at the trace's mean claim rate, as if arrivals were Poisson at one constant rate"
                    : "the recommendation's claims-weighted hit rate over the week");
            out.printf(Locale.ROOT, "  idle               %.1f sandbox-hours over %.1f hours (%.2f idle members on average)%n",
                    report.idleSandboxHours(), report.hours(), report.idlePerHour());
            out.printf(Locale.ROOT, "  refilling          %.1f sandbox-hours, %d refills%n", report.warmingSandboxHours(), report.refills());
            out.printf(Locale.ROOT, "  in use             %.1f sandbox-hours, at most %d at once%n", report.inUseSandboxHours(), report.peakInUse());
        }
        return ExitCodes.OK;
    }
}
