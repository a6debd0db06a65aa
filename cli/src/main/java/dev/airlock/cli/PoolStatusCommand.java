package dev.airlock.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.server.DaemonClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "status",
        mixinStandardHelpOptions = true,
        description = {"Per project: desired, ready, warming and in-use sandboxes, warm hit rate, cold start rate,",
            "claim p50/p99 and age at claim, from the running daemon; then its cold runs (policies it does",
            "not pool: running and since it started, per project); then its sessions (`airlock sandbox`):",
            "a count per project, and one line each."},
        footer = {"", "Exit codes: 0 shown; 125 no daemon answers (start one with `airlock daemon`)."})
final class PoolStatusCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--json", description = "Print the daemon's JSON.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Optional<DaemonClient> c = DaemonClient.ifRunning(DaemonSocket.path());
        if (c.isEmpty()) {
            spec.commandLine().getErr().println("airlock: no daemon answers on " + DaemonSocket.path()
                    + ". Fix: start one, as root, with `airlock daemon --config FILE`, or set AIRLOCK_DAEMON_SOCKET.");
            return 125;
        }
        DaemonClient.Response r = c.get().get("/v1/status");
        if (!r.ok()) {
            spec.commandLine().getErr().println("airlock: " + r.error());
            return 125;
        }
        if (json) {
            out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(r.body()));
            return 0;
        }
        out.printf("%-20s %7s %5s %7s %6s %8s %8s %9s %9s %9s %9s  %s%n", "PROJECT", "DESIRED", "READY", "WARMING", "IN-USE", "SESSIONS",
                "HIT-RATE", "COLD-RATE", "CLAIM-P50", "CLAIM-P99", "AGE-P50", "LAST FAILURE");
        for (JsonNode p : r.body().path("projects")) {
            out.printf("%-20s %7d %5d %7d %6d %8d %8s %9s %9s %9s %9s  %s%n", p.path("project").asText(), p.path("desired").asInt(),
                    p.path("ready").asInt(), p.path("warming").asInt(), p.path("inUse").asInt(), p.path("sessions").asInt(), rate(p.get("warmHitRate")),
                    rate(p.get("coldStartRate")), millis(p.get("claimP50Ms")), millis(p.get("claimP99Ms")), millis(p.get("ageAtClaimP50Ms")),
                    p.path("lastFailure").isNull() ? "-" : p.path("lastFailure").asText());
        }
        images(out, r.body());
        policyErrors(out, r.body());
        coldRuns(out, r.body());
        sessions(out, c.get());
        return 0;
    }

    /** The projects that run on an image (docs/images.md), with its manifest digest; nothing when none does. */
    static void images(PrintWriter out, JsonNode status) {
        boolean first = true;
        for (JsonNode p : status.path("projects")) {
            if (p.hasNonNull("image")) {
                if (first) {
                    out.println();
                    out.println("images:");
                    first = false;
                }
                out.printf("  %-20s %s%n", p.path("project").asText(), p.path("image").asText());
            }
        }
    }

    /** A policy file that did not reload: the old policy stays in force; the problem names file:line:col and the fix. */
    static void policyErrors(PrintWriter out, JsonNode status) {
        for (JsonNode p : status.path("projects")) {
            if (p.hasNonNull("policyError")) {
                out.println();
                out.println("policy of " + p.path("project").asText() + " did not reload; the old policy stays in force:");
                p.path("policyError").asText().lines().forEach(l -> out.println("  " + l));
            }
        }
    }

    /**
     * Runs of policies the daemon does not pool (no pool, so no row above): how many run now and
     * have run since the daemon started, per project; nothing when there were none.
     */
    static void coldRuns(PrintWriter out, JsonNode status) {
        JsonNode c = status.path("coldRuns");
        if (c.path("total").asLong() == 0) {
            return;
        }
        out.println();
        out.printf("cold runs (policies the daemon does not pool): %d running, %d since the daemon started%n", c.path("running").asLong(),
                c.path("total").asLong());
        out.printf("  %-20s %7s %7s%n", "PROJECT", "RUNNING", "TOTAL");
        for (JsonNode p : c.path("projects")) {
            out.printf("  %-20s %7d %7d%n", p.path("project").asText(), p.path("running").asLong(), p.path("total").asLong());
        }
    }

    /** The sessions, one line each (`airlock sandbox list`'s table). */
    private static void sessions(PrintWriter out, DaemonClient c) throws IOException {
        DaemonClient.Response s = c.get("/v1/sandboxes");
        java.util.List<JsonNode> rows = s.ok() ? SessionTable.claimed(s.body(), false) : java.util.List.of();
        out.println();
        if (rows.isEmpty()) {
            out.println("Sessions: none (`airlock sandbox create` starts one)");
            return;
        }
        out.println("Sessions:");
        SessionTable.print(out, rows, java.time.Instant.now());
    }

    private static String rate(JsonNode n) {
        return n == null || n.isNull() ? "-" : String.format(Locale.ROOT, "%.1f%%", n.asDouble() * 100);
    }

    private static String millis(JsonNode n) {
        if (n == null || n.isNull()) {
            return "-";
        }
        double ms = n.asDouble();
        return ms >= 1000 ? String.format(Locale.ROOT, "%.1fs", ms / 1000) : String.format(Locale.ROOT, "%.1fms", ms);
    }
}
