package dev.airlock.audit.battery;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * What the agent reported for one probe: what the probe saw, or why there is no report to judge.
 * Both keep the probe's exit status and whole output for the evidence.
 */
sealed interface Outcome permits Outcome.Reported, Outcome.Unreported {

    /** The probe's {@code @result} detail, or why there is none. */
    String detail();

    int exit();

    String output();

    /** What the probe saw, when it said so. */
    default Optional<Observed> observation() {
        return switch (this) {
            case Reported r -> Optional.of(r.observed());
            case Unreported u -> Optional.empty();
        };
    }

    /** The last {@code @result} line, in one of the protocol's words. */
    record Reported(Observed observed, String detail, int exit, String output) implements Outcome {
    }

    /** No word to judge: the agent died or timed out, the probe printed no {@code @result}, or an unknown word. */
    record Unreported(String detail, int exit, String output) implements Outcome {
    }

    /** The agent's answer did not arrive (it died or timed out). */
    static Outcome lost(String why) {
        return new Unreported(why, -1, "");
    }

    /** Parses a probe's output: the last line starting with {@code @result }. */
    static Outcome parse(int exit, String output) {
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
            return new Unreported(exit == 124 || exit == 137 ? "the probe ran past its time bound" : "the probe printed no @result line"
                    + (last.isEmpty() ? "" : ": " + last.substring(Math.max(0, last.length() - 200))), exit, output);
        }
        Optional<Observed> observed = Observed.fromCode(kind);
        if (observed.isEmpty()) {
            return new Unreported("it reported '" + kind + "', which is not one of "
                    + Arrays.stream(Observed.values()).map(o -> o.code).collect(Collectors.joining(", ")) + ": " + detail, exit, output);
        }
        return new Reported(observed.get(), detail, exit, output);
    }
}
