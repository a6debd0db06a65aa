package dev.airlock.audit.battery;

import java.util.List;
import java.util.Optional;

/**
 * Judges one probe: what it expected, what the agent saw, what the positive control saw, and what
 * the gateway recorded. Pure. The order of the cases is the policy of the report:
 * <ol>
 *   <li>a probe whose positive control did not reach its target proves nothing: error;
 *   <li>a probe that could not run (missing tool, no {@code @result}, agent lost): error, never a pass;
 *   <li>a blocked target that answered, or a privileged command that worked: fail;
 *   <li>a block counts as a pass only with evidence that there was something to block: its
 *       positive control reached the target from the host, or the gateway's own deny record for
 *       this connection (this sandbox, the probe's name and port, a policy reason) was read after
 *       the probe; without either it is "not reachable here" (inconclusive, never a pass);
 *   <li>an allowed entry that did not answer: fail when the gateway denied it for a policy reason
 *       (the policy allows it, so that is a bug), otherwise "not reachable here".
 * </ol>
 */
public final class Verdict {

    private Verdict() {
    }

    public record Judged(Status status, String observed) {
    }

    public static Judged judge(Probe probe, Outcome outcome, Optional<ControlResult> control, List<Evidence> records) {
        if (control.isPresent() && !control.get().reached()) {
            return new Judged(Status.ERROR, "positive control failed (" + control.get().description() + ": " + control.get().detail()
                    + "), so this probe proves nothing");
        }
        if (outcome.kind().isEmpty()) {
            return new Judged(Status.ERROR, "probe could not run: " + outcome.detail());
        }
        String kind = outcome.kind().get();
        String detail = outcome.detail();
        if (kind.equals("cannot-run")) {
            return new Judged(Status.ERROR, "probe could not run: " + detail);
        }
        return switch (probe.expect()) {
            case BLOCKED -> switch (kind) {
                case "blocked" -> blocked(probe, control, records, detail);
                case "reached" -> new Judged(Status.FAIL, "REACHED: " + detail);
                default -> unexpected(kind, detail);
            };
            case COMMAND_FAILS -> switch (kind) {
                case "failed" -> new Judged(Status.PASS, detail);
                case "succeeded" -> new Judged(Status.FAIL, "the command WORKED: " + detail);
                default -> unexpected(kind, detail);
            };
            case REACHABLE -> switch (kind) {
                case "reached" -> new Judged(Status.PASS, detail);
                case "blocked" -> policyDenial(records)
                        .map(e -> new Judged(Status.FAIL, "the policy allows it but the gateway denied it (seq " + e.seq() + ", "
                                + e.reason() + "): " + detail))
                        .orElse(new Judged(Status.NOT_REACHABLE_HERE, "not reachable here: " + detail
                                + (records.isEmpty() ? "" : " [" + Evidence.describe(records) + "]")));
                default -> unexpected(kind, detail);
            };
        };
    }

    /** Reached here, the control (if any) did reach its target. */
    private static Judged blocked(Probe probe, Optional<ControlResult> control, List<Evidence> records, String detail) {
        if (control.isPresent()) {
            return new Judged(Status.PASS, detail);
        }
        return switch (probe.witness()) {
            case Probe.Inside i -> new Judged(Status.PASS, detail);
            case Probe.Gate g -> policyDenials(records).filter(g::names).findFirst()
                    .map(e -> new Judged(Status.PASS, detail + " (the gateway denied it: seq " + e.seq() + ", " + e.reason() + ")"))
                    .orElseGet(() -> inconclusive("no deny record from the gateway for " + String.join(" or ", new java.util.TreeSet<>(g.names()))
                            + (g.port() > 0 ? " port " + g.port() : ""), detail, records));
            case Probe.NoWitness n -> inconclusive("the gateway does not see this probe", detail, records);
        };
    }

    private static Judged inconclusive(String missing, String detail, List<Evidence> records) {
        return new Judged(Status.NOT_REACHABLE_HERE, "inconclusive: no positive control and " + missing
                + ", so nothing shows a target was there to block (" + detail + ")"
                + (records.isEmpty() ? "" : " [" + Evidence.describe(records) + "]"));
    }

    /** A deny for a reason the policy decides (not a DNS failure or a limit of this host). */
    private static Optional<Evidence> policyDenial(List<Evidence> records) {
        return policyDenials(records).findFirst();
    }

    private static java.util.stream.Stream<Evidence> policyDenials(List<Evidence> records) {
        return records.stream().filter(e -> "deny".equals(e.decision()))
                .filter(e -> !List.of("dns-failure", "limit", "fail-closed").contains(e.reason()));
    }

    private static Judged unexpected(String kind, String detail) {
        return new Judged(Status.ERROR, "probe could not run: it reported '" + kind + "', which this probe does not expect: " + detail);
    }
}
