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

/** Claimed sandboxes from {@code GET /v1/sandboxes} as a table (for {@code sandbox list} and {@code pool status}). */
final class SessionTable {

    private SessionTable() {
    }

    /** The claimed entries of {@code sandboxes}: sessions, and with {@code runs} also the sandboxes of one-shot runs; oldest first. */
    static List<JsonNode> claimed(JsonNode sandboxes, boolean runs) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode n : sandboxes) {
            if ("claimed".equals(n.path("state").asText()) && (runs || !"run".equals(n.path("kind").asText()))) {
                out.add(n);
            }
        }
        out.sort(Comparator.comparing(n -> n.path("createdAt").isTextual() ? Instant.parse(n.path("createdAt").asText()) : Instant.EPOCH));
        return out;
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
