package dev.airlock.audit.battery;

import dev.airlock.policy.Reason;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

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
final class Verdict {

    /** Denials this host causes (a failing resolver, a limit, a failing log), not the policy. */
    private static final Set<Reason> NOT_POLICY = EnumSet.of(Reason.DNS_FAILURE, Reason.LIMIT, Reason.FAIL_CLOSED);

    private Verdict() {
    }

    /**
     * A probe's verdict: a pass with the evidence it rests on, a fail, an inconclusive result with
     * why, or an error (the probe proved nothing). {@link #status} and {@link #observed} are what the
     * report prints.
     */
    public sealed interface Judged permits Pass, Fail, Inconclusive, Error {

        /** What happened, in words, for the report. */
        String observed();

        default Status status() {
            return switch (this) {
                case Pass p -> Status.PASS;
                case Fail f -> Status.FAIL;
                case Inconclusive i -> Status.NOT_REACHABLE_HERE;
                case Error e -> Status.ERROR;
            };
        }
    }

    /** The probe saw what it had to, and {@code proof} shows it meant something. */
    public record Pass(String observed, Proof proof) implements Judged {
    }

    /** A blocked target answered, a privileged command worked, or the policy engine denied an allowed entry. */
    public record Fail(String observed) implements Judged {
    }

    /** Neither a pass nor a fail: the allowed entry is not reachable from this host, or a block has no evidence. */
    public record Inconclusive(String observed) implements Judged {
    }

    /** The probe proved nothing: it could not run, or its positive control failed. */
    public record Error(String observed) implements Judged {
    }

    /** Why a pass counts (docs/audit.md, "Evidence"). */
    public sealed interface Proof permits ControlReached, GatewayDenied, SeenByTheProbe {
    }

    /** The positive control reached the target from the host, so the block blocked something. */
    public record ControlReached(ControlResult control) implements Proof {
    }

    /** The gateway's own deny record for this connection. */
    public record GatewayDenied(Evidence record) implements Proof {
    }

    /**
     * What the probe saw is the evidence: an allowed entry answered, a privileged command failed, or
     * the probe looked at the sandbox itself (no target that could be absent).
     */
    public record SeenByTheProbe() implements Proof {
    }

    public static Judged judge(Probe probe, Outcome outcome, Optional<ControlResult> control, List<Evidence> records) {
        if (control.isPresent() && !control.get().reached()) {
            return new Error("positive control failed (" + control.get().description() + ": " + control.get().detail()
                    + "), so this probe proves nothing");
        }
        return switch (outcome) {
            case Outcome.Unreported u -> new Error("probe could not run: " + u.detail());
            case Outcome.Reported r -> judge(probe, r.observed(), r.detail(), control, records);
        };
    }

    private static Judged judge(Probe probe, Observed observed, String detail, Optional<ControlResult> control,
            List<Evidence> records) {
        if (observed == Observed.CANNOT_RUN) {
            return new Error("probe could not run: " + detail);
        }
        return switch (probe.expect()) {
            case BLOCKED -> switch (observed) {
                case BLOCKED -> blocked(probe, control, records, detail);
                case REACHED -> new Fail("REACHED: " + detail);
                case SUCCEEDED, FAILED, CANNOT_RUN -> unexpected(observed, detail);
            };
            case COMMAND_FAILS -> switch (observed) {
                case FAILED -> new Pass(detail, new SeenByTheProbe());
                case SUCCEEDED -> new Fail("the command WORKED: " + detail);
                case REACHED, BLOCKED, CANNOT_RUN -> unexpected(observed, detail);
            };
            case REACHABLE -> switch (observed) {
                case REACHED -> new Pass(detail, new SeenByTheProbe());
                case BLOCKED -> policyDenials(records).findFirst()
                        .<Judged>map(e -> new Fail("the policy allows it but the gateway denied it (seq " + e.seq() + ", "
                                + e.reason().code() + "): " + detail))
                        .orElse(new Inconclusive("not reachable here: " + detail
                                + (records.isEmpty() ? "" : " [" + Evidence.describe(records) + "]")));
                case SUCCEEDED, FAILED, CANNOT_RUN -> unexpected(observed, detail);
            };
        };
    }

    /** Reached here, the control (if any) did reach its target. */
    private static Judged blocked(Probe probe, Optional<ControlResult> control, List<Evidence> records, String detail) {
        if (control.isPresent()) {
            return new Pass(detail, new ControlReached(control.get()));
        }
        return switch (probe.witness()) {
            case Probe.Inside i -> new Pass(detail, new SeenByTheProbe());
            case Probe.Gate g -> policyDenials(records).filter(g::names).findFirst()
                    .<Judged>map(e -> new Pass(detail + " (the gateway denied it: seq " + e.seq() + ", " + e.reason().code() + ")",
                            new GatewayDenied(e)))
                    .orElseGet(() -> inconclusive("no deny record from the gateway for " + String.join(" or ", new TreeSet<>(g.names()))
                            + (g.port() > 0 ? " port " + g.port() : ""), detail, records));
            case Probe.NoWitness n -> inconclusive("the gateway does not see this probe", detail, records);
        };
    }

    private static Judged inconclusive(String missing, String detail, List<Evidence> records) {
        return new Inconclusive("inconclusive: no positive control and " + missing
                + ", so nothing shows a target was there to block (" + detail + ")"
                + (records.isEmpty() ? "" : " [" + Evidence.describe(records) + "]"));
    }

    /** Denials for a reason the policy decides (not a DNS failure or a limit of this host). */
    private static Stream<Evidence> policyDenials(List<Evidence> records) {
        return records.stream().filter(e -> e.entry() == Evidence.Entry.DENY)
                .filter(e -> NOT_POLICY.stream().noneMatch(e.reason()::is));
    }

    private static Judged unexpected(Observed observed, String detail) {
        return new Error("probe could not run: it reported '" + observed.code + "', which this probe does not expect: " + detail);
    }
}
