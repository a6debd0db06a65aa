package dev.airlock.audit.battery;

import java.util.Optional;

/**
 * What the agent reported for one probe: the last {@code @result} line of its output (kind and
 * detail), its exit status, and the whole output for the evidence.
 */
public record Outcome(Optional<String> kind, String detail, int exit, String output) {

    /** The agent's answer did not arrive (it died or timed out). */
    public static Outcome lost(String why) {
        return new Outcome(Optional.empty(), why, -1, "");
    }

    /** Parses a probe's output: the last line starting with {@code @result }. */
    public static Outcome parse(int exit, String output) {
        String kind = null;
        String detail = "";
        for (String line : output.split("\n")) {
            if (line.startsWith("@result ")) {
                String rest = line.substring(8).strip();
                int sp = rest.indexOf(' ');
                kind = sp < 0 ? rest : rest.substring(0, sp);
                detail = sp < 0 ? "" : rest.substring(sp + 1).strip();
            }
        }
        if (kind == null) {
            String last = output.strip();
            detail = exit == 124 || exit == 137 ? "the probe ran past its time bound" : "the probe printed no @result line"
                    + (last.isEmpty() ? "" : ": " + last.substring(Math.max(0, last.length() - 200)));
        }
        return new Outcome(Optional.ofNullable(kind), detail, exit, output);
    }
}
