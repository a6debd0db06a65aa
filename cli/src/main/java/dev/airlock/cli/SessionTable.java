package dev.airlock.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.airlock.server.CompactDuration;
import dev.airlock.server.IdleTimeout;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/** Claimed sandboxes from {@code GET /v1/sandboxes} as a table (for {@code sandbox list} and {@code pool status}). */
final class SessionTable {

    private SessionTable() {
    }

    /** The claimed entries of {@code sandboxes}: sessions, and with {@code runs} also the sandboxes of one-shot runs; oldest first. */
    static List<JsonNode> claimed(JsonNode sandboxes, boolean runs) {
        return entries(sandboxes, n -> "claimed".equals(n.path("state").asText()) && (runs || !"run".equals(n.path("kind").asText())),
                "createdAt", Instant.EPOCH);
    }

    /** The kept work of {@code sandboxes}: released sandboxes whose work was not exported, soonest to expire first. */
    static List<JsonNode> kept(JsonNode sandboxes) {
        return entries(sandboxes, n -> "kept".equals(n.path("state").asText()), "keptUntil", Instant.MAX);
    }

    /** The runs in progress of policies the daemon does not pool ({@code state: cold-run}), oldest first. */
    static List<JsonNode> coldRuns(JsonNode sandboxes) {
        return entries(sandboxes, n -> "cold-run".equals(n.path("state").asText()), "createdAt", Instant.EPOCH);
    }

    /** The entries {@code keep} takes, by the time in {@code field} ({@code missing} when an entry has none). */
    private static List<JsonNode> entries(JsonNode sandboxes, Predicate<JsonNode> keep, String field, Instant missing) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode n : sandboxes) {
            if (keep.test(n)) {
                out.add(n);
            }
        }
        out.sort(Comparator.comparing(n -> n.path(field).isTextual() ? Instant.parse(n.path(field).asText()) : missing));
        return out;
    }

    /**
     * Cold runs as a table under its heading, or nothing when there are none: each is one {@code
     * airlock run} in a sandbox of its own, destroyed when its command ends (nothing to stop or export).
     */
    static void printColdRuns(PrintWriter out, List<JsonNode> rows, Instant now) {
        if (rows.isEmpty()) {
            return;
        }
        out.println();
        out.println("Cold runs (policies the daemon does not pool; each sandbox goes when its command ends):");
        out.printf("%-12s %-20s %-7s %-11s %s%n", "SANDBOX", "PROJECT", "AGE", "RUN-AS", "WORKSPACE");
        for (JsonNode n : rows) {
            out.printf("%-12s %-20s %-7s %-11s %s%n", n.path("sandbox").asText(), n.path("project").asText(), since(n.path("createdAt"), now),
                    n.path("runAs").asText("-"), n.path("workspace").asText("-"));
        }
    }

    /** Kept work as a table under its heading, or nothing when there is none. */
    static void printKept(PrintWriter out, List<JsonNode> rows, Instant now) {
        if (rows.isEmpty()) {
            return;
        }
        out.println();
        out.println("Kept work (not exported; `airlock sandbox export ID [--to REPO]` brings it back before it is removed):");
        out.printf("%-12s %-20s %-9s %s%n", "SANDBOX", "PROJECT", "REMOVED-IN", "REASON");
        for (JsonNode n : rows) {
            out.printf("%-12s %-20s %-9s %s%n", n.path("sandbox").asText(), n.path("project").asText(), until(n.path("keptUntil"), now),
                    n.path("reason").asText("-") + (n.path("held").asBoolean() ? " (sandbox held)" : ""));
        }
    }

    /**
     * {@code sandbox list}'s sessions: the table, or when there are none a sentence saying so and how
     * one starts (a header over no rows reads as a listing that failed). {@code runs}: the list
     * includes one-shot runs ({@code --all}).
     */
    static void printSessions(PrintWriter out, List<JsonNode> rows, boolean runs, Instant now) {
        if (!rows.isEmpty()) {
            print(out, rows, now);
        } else if (runs) {
            out.println("No sandboxes in use (`airlock sandbox create` starts a session, `airlock run` a one-shot run).");
        } else {
            out.println("No sessions (`airlock sandbox create` starts one; --all also lists one-shot runs).");
        }
    }

    static void print(PrintWriter out, List<JsonNode> rows, Instant now) {
        out.printf("%-12s %-20s %-20s %-5s %-7s %-9s %-14s %s%n", "SANDBOX", "NAME", "PROJECT", "START", "AGE", "IDLE", "IDLE-TIMEOUT", "ENDS-IN");
        for (JsonNode n : rows) {
            int running = n.path("running").asInt();
            String idle = running > 0 ? running + " running" : since(n.path("lastActivity"), now);
            String name = n.path("name").isTextual() ? n.path("name").asText() : "run".equals(n.path("kind").asText()) ? "(run)" : "-";
            out.printf("%-12s %-20s %-20s %-5s %-7s %-9s %-14s %s%n", n.path("sandbox").asText(), name, n.path("project").asText(),
                    n.path("warm").asBoolean() ? "warm" : "cold", since(n.path("createdAt"), now), idle, timeout(n.get("idleTimeout")),
                    until(n.path("expiresAt"), now));
        }
    }

    /** An {@code idleTimeout} field (ISO-8601 or null) as the configuration writes it: {@code 8h}, {@code never}. */
    static String timeout(JsonNode n) {
        if (n == null || !n.isTextual()) {
            return "never";
        }
        try {
            return new IdleTimeout(Optional.of(Duration.parse(n.asText()))).toString();
        } catch (java.time.format.DateTimeParseException e) {
            return n.asText();
        }
    }

    private static String since(JsonNode at, Instant now) {
        return at.isTextual() ? CompactDuration.of(Duration.between(Instant.parse(at.asText()), now)) : "-";
    }

    private static String until(JsonNode at, Instant now) {
        return at.isTextual() ? CompactDuration.of(Duration.between(now, Instant.parse(at.asText()))) : "-";
    }
}
