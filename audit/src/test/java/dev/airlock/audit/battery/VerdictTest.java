package dev.airlock.audit.battery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.RecordedReason;
import dev.airlock.policy.Reason;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class VerdictTest {

    private static Probe probe(Expect e) {
        return new Probe("p:1", "production", "t", e, "x", "", Optional.empty());
    }

    private static Outcome said(String line) {
        return Outcome.parse(0, line + "\n");
    }

    private static final Evidence DNS_FAILURE = new Evidence(4, AuditEvent.Via.DNS, "a.dev", 0, Evidence.Entry.DENY, RecordedReason.of(Reason.DNS_FAILURE), "-");
    private static final Evidence NO_RULE = new Evidence(5, AuditEvent.Via.TRANSPARENT, "a.dev", 443, Evidence.Entry.DENY, RecordedReason.of(Reason.NO_RULE), "-");
    private static final Optional<ControlResult> CONTROL_OK = Optional.of(new ControlResult("tcp", true, "answered"));

    @Test
    void judge_blockedTargetThatStayedBlocked_passes() {
        assertThat(Verdict.judge(probe(Expect.BLOCKED), said("@result blocked no byte"), CONTROL_OK, List.of()).status()).isEqualTo(Status.PASS);
    }

    // ---- issue 11 §7: a block counts only with evidence that there was something to block -----------

    private static Probe gated(String name, int port) {
        return new Probe("protected:10.0.0.1:80", "protected-range", "10.0.0.1:80", Expect.BLOCKED, "x", "", Optional.empty(),
                Probe.Gate.of(name, port));
    }

    private static final Evidence PROTECTED = new Evidence(7, AuditEvent.Via.TRANSPARENT, "10.0.0.1", 80, Evidence.Entry.DENY, RecordedReason.of(Reason.PROTECTED_ADDRESS), "-");

    @Test
    void judge_blockedWithoutControlOrDenyRecord_isNotReachableHereNeverAPass() {
        // Nothing exists at 10.0.0.1 on this host: "no byte back" is what an absent target looks like too.
        Verdict.Judged j = Verdict.judge(gated("10.0.0.1", 80), said("@result blocked no byte back"), Optional.empty(), List.of());
        assertThat(j.status()).isEqualTo(Status.NOT_REACHABLE_HERE);
        assertThat(j.observed()).startsWith("inconclusive").contains("no deny record").contains("10.0.0.1 port 80");
    }

    @Test
    void judge_blockedProbeTheGatewayNeverSees_isNotReachableHereWithoutAControl() {
        Verdict.Judged j = Verdict.judge(probe(Expect.BLOCKED), said("@result blocked no datagram"), Optional.empty(), List.of());
        assertThat(j.status()).isEqualTo(Status.NOT_REACHABLE_HERE);
        assertThat(j.observed()).contains("the gateway does not see this probe");
    }

    @Test
    void judge_blockedWithTheGatewaysDenyRecordForThatTarget_passesAndNamesTheRecord() {
        Verdict.Judged j = Verdict.judge(gated("10.0.0.1", 80), said("@result blocked no byte back"), Optional.empty(), List.of(PROTECTED));
        assertThat(j.status()).isEqualTo(Status.PASS);
        assertThat(j.observed()).contains("seq 7").contains("protected-address");
    }

    @Test
    void judge_blockedWithTheDnsRespondersDenyOfTheName_passes() {
        Evidence dns = new Evidence(8, AuditEvent.Via.DNS, "Prod.Example.", 0, Evidence.Entry.DENY, RecordedReason.of(Reason.PRODUCTION), "-");
        assertThat(Verdict.judge(gated("prod.example", 443), said("@result blocked curl exit 6"), Optional.empty(), List.of(dns)).status())
                .isEqualTo(Status.PASS);
    }

    @Test
    void judge_blockedWithADenyRecordForAnotherTargetOrPort_isNotReachableHere() {
        Evidence otherName = new Evidence(9, AuditEvent.Via.TRANSPARENT, "10.0.0.2", 80, Evidence.Entry.DENY, RecordedReason.of(Reason.PROTECTED_ADDRESS), "-");
        Evidence otherPort = new Evidence(10, AuditEvent.Via.TRANSPARENT, "10.0.0.1", 443, Evidence.Entry.DENY, RecordedReason.of(Reason.PROTECTED_ADDRESS), "-");
        assertThat(Verdict.judge(gated("10.0.0.1", 80), said("@result blocked"), Optional.empty(), List.of(otherName, otherPort)).status())
                .isEqualTo(Status.NOT_REACHABLE_HERE);
    }

    @Test
    void judge_blockedWithOnlyANonPolicyDeny_isNotReachableHere() {
        // A DNS failure or a limit says nothing about the policy: the block could be this host's.
        Evidence limit = new Evidence(11, AuditEvent.Via.TRANSPARENT, "10.0.0.1", 80, Evidence.Entry.DENY, RecordedReason.of(Reason.LIMIT), "-");
        Evidence dnsFailure = new Evidence(12, AuditEvent.Via.DNS, "10.0.0.1", 0, Evidence.Entry.DENY, RecordedReason.of(Reason.DNS_FAILURE), "-");
        assertThat(Verdict.judge(gated("10.0.0.1", 80), said("@result blocked"), Optional.empty(), List.of(limit, dnsFailure)).status())
                .isEqualTo(Status.NOT_REACHABLE_HERE);
    }

    @Test
    void judge_blockedWithAnAllowRecordOnly_isNotReachableHere() {
        Evidence allow = new Evidence(13, AuditEvent.Via.TRANSPARENT, "10.0.0.1", 80, Evidence.Entry.ALLOW, RecordedReason.of(Reason.ALLOWED), "r1");
        assertThat(Verdict.judge(gated("10.0.0.1", 80), said("@result blocked"), Optional.empty(), List.of(allow)).status())
                .isEqualTo(Status.NOT_REACHABLE_HERE);
    }

    @Test
    void judge_blockedSeenInsideTheSandboxItself_passesWithoutControlOrRecord() {
        Probe inside = new Probe("ipv6:addresses", "udp-icmp-ipv6", "t", Expect.BLOCKED, "x", "", Optional.empty(), new Probe.Inside());
        assertThat(Verdict.judge(inside, said("@result blocked no global IPv6 address"), Optional.empty(), List.of()).status())
                .isEqualTo(Status.PASS);
    }

    @Test
    void judge_blockedWithAReachedControlButNoRecord_passes() {
        assertThat(Verdict.judge(gated("10.0.0.1", 80), said("@result blocked"), CONTROL_OK, List.of()).status()).isEqualTo(Status.PASS);
    }

    @Test
    void judge_reachedWithoutAnyEvidence_stillFails() {
        // Reaching the target is its own evidence.
        assertThat(Verdict.judge(gated("10.0.0.1", 80), said("@result reached HTTP/1.1 200"), Optional.empty(), List.of()).status())
                .isEqualTo(Status.FAIL);
    }

    @Test
    void judge_blockedTargetThatAnswered_fails() {
        Verdict.Judged j = Verdict.judge(probe(Expect.BLOCKED), said("@result reached received: HTTP/1.0 200"), CONTROL_OK, List.of());
        assertThat(j.status()).isEqualTo(Status.FAIL);
        assertThat(j.observed()).startsWith("REACHED").contains("HTTP/1.0 200");
    }

    @Test
    void judge_positiveControlDidNotReachTheTarget_isAnErrorEvenWhenBlocked() {
        Verdict.Judged j = Verdict.judge(probe(Expect.BLOCKED), said("@result blocked"),
                Optional.of(new ControlResult("tcp 1.2.3.4:5", false, "refused")), List.of());
        assertThat(j.status()).isEqualTo(Status.ERROR);
        assertThat(j.observed()).contains("positive control failed").contains("refused");
    }

    @Test
    void judge_missingTool_isAnErrorNeverAPass() {
        Verdict.Judged j = Verdict.judge(probe(Expect.BLOCKED), said("@result cannot-run nft is not installed in the sandbox"), Optional.empty(),
                List.of());
        assertThat(j.status()).isEqualTo(Status.ERROR);
        assertThat(j.observed()).contains("probe could not run").contains("nft is not installed");
    }

    @Test
    void judge_noResultLine_isAnError() {
        assertThat(Verdict.judge(probe(Expect.BLOCKED), Outcome.parse(2, "bash: syntax error"), Optional.empty(), List.of()).status())
                .isEqualTo(Status.ERROR);
        assertThat(Verdict.judge(probe(Expect.BLOCKED), Outcome.lost("agent gone"), Optional.empty(), List.of()).status())
                .isEqualTo(Status.ERROR);
    }

    @Test
    void judge_privilegedCommandThatWorked_fails() {
        assertThat(Verdict.judge(probe(Expect.COMMAND_FAILS), said("@result succeeded exit 0"), Optional.empty(), List.of()).status())
                .isEqualTo(Status.FAIL);
        assertThat(Verdict.judge(probe(Expect.COMMAND_FAILS), said("@result failed exit 1: Operation not permitted"), Optional.empty(), List.of())
                .status()).isEqualTo(Status.PASS);
    }

    @Test
    void judge_allowedEntryReached_passes() {
        assertThat(Verdict.judge(probe(Expect.REACHABLE), said("@result reached HTTP 200"), Optional.empty(), List.of()).status())
                .isEqualTo(Status.PASS);
    }

    @Test
    void judge_allowedEntryUnreachableBecauseDnsFailed_isNotReachableHereNeverAPass() {
        Verdict.Judged j = Verdict.judge(probe(Expect.REACHABLE), said("@result blocked curl exit 6"), Optional.empty(), List.of(DNS_FAILURE));
        assertThat(j.status()).isEqualTo(Status.NOT_REACHABLE_HERE);
        assertThat(j.observed()).contains("not reachable here").contains("seq 4");
    }

    @Test
    void judge_allowedEntryUnreachableWithoutAnyRecord_isNotReachableHere() {
        assertThat(Verdict.judge(probe(Expect.REACHABLE), said("@result blocked"), Optional.empty(), List.of()).status())
                .isEqualTo(Status.NOT_REACHABLE_HERE);
    }

    @Test
    void judge_allowedEntryDeniedByThePolicyEngine_fails() {
        Verdict.Judged j = Verdict.judge(probe(Expect.REACHABLE), said("@result blocked"), Optional.empty(), List.of(DNS_FAILURE, NO_RULE));
        assertThat(j.status()).isEqualTo(Status.FAIL);
        assertThat(j.observed()).contains("seq 5").contains("no-rule");
    }

    @Test
    void judge_outcomeThisProbeCannotProduce_isAnError() {
        assertThat(Verdict.judge(probe(Expect.BLOCKED), said("@result succeeded"), Optional.empty(), List.of()).status()).isEqualTo(Status.ERROR);
    }

    // ---- the verdict's type says what a pass rests on -------------------------------------------------

    @Test
    void judge_passByControl_restsOnTheControl() {
        Verdict.Judged j = Verdict.judge(probe(Expect.BLOCKED), said("@result blocked no byte"), CONTROL_OK, List.of());
        assertThat(j).isEqualTo(new Verdict.Pass("no byte", new Verdict.ControlReached(CONTROL_OK.get())));
    }

    @Test
    void judge_passByDenyRecord_restsOnThatRecord() {
        Verdict.Judged j = Verdict.judge(gated("10.0.0.1", 80), said("@result blocked"), Optional.empty(), List.of(NO_RULE, PROTECTED));
        assertThat(j).isInstanceOfSatisfying(Verdict.Pass.class,
                p -> assertThat(p.proof()).isEqualTo(new Verdict.GatewayDenied(PROTECTED)));
    }

    @Test
    void judge_passByWhatTheProbeSaw_forAnswersFailedCommandsAndLooksInside() {
        Probe inside = new Probe("ipv6:addresses", "udp-icmp-ipv6", "t", Expect.BLOCKED, "x", "", Optional.empty(), new Probe.Inside());
        assertThat(List.of(
                Verdict.judge(probe(Expect.REACHABLE), said("@result reached HTTP 200"), Optional.empty(), List.of()),
                Verdict.judge(probe(Expect.COMMAND_FAILS), said("@result failed EPERM"), Optional.empty(), List.of()),
                Verdict.judge(inside, said("@result blocked none"), Optional.empty(), List.of())))
                .allSatisfy(j -> assertThat(j).isInstanceOfSatisfying(Verdict.Pass.class,
                        p -> assertThat(p.proof()).isEqualTo(new Verdict.SeenByTheProbe())));
    }

    @Test
    void judge_inconclusiveBlock_isItsOwnKindNotAPass() {
        Verdict.Judged j = Verdict.judge(gated("10.0.0.1", 80), said("@result blocked"), Optional.empty(), List.of());
        assertThat(j).isInstanceOf(Verdict.Inconclusive.class);
    }

    @Test
    void judge_aWordOutsideTheProtocol_isAnErrorNamingIt() {
        Verdict.Judged j = Verdict.judge(probe(Expect.BLOCKED), said("@result maybe who knows"), CONTROL_OK, List.of());
        assertThat(j).isInstanceOf(Verdict.Error.class);
        assertThat(j.observed()).contains("probe could not run").contains("'maybe'").contains("who knows");
    }

    @Test
    void parse_everyWordOfTheProtocol_isObserved() {
        for (Observed o : Observed.values()) {
            assertThat(said("@result " + o.code + " x").observation()).as(o.code).contains(o);
        }
        assertThat(said("@result maybe x").observation()).isEmpty();
    }

    @Test
    void parse_lastResultLineCounts() {
        Outcome o = Outcome.parse(0, "noise\n@result blocked first\nmore\n@result reached second try\n");
        assertThat(o.observation()).contains(Observed.REACHED);
        assertThat(o.detail()).isEqualTo("second try");
    }

    @Test
    void parse_timedOutProbe_saysSo() {
        Outcome o = Outcome.parse(124, "");
        assertThat(o.observation()).isEmpty();
        assertThat(o.detail()).contains("time bound");
    }

    @Test
    void status_onlyFailAndErrorFailTheAudit() {
        assertThat(Status.FAIL.failsAudit()).isTrue();
        assertThat(Status.ERROR.failsAudit()).isTrue();
        assertThat(Status.PASS.failsAudit()).isFalse();
        assertThat(Status.NOT_REACHABLE_HERE.failsAudit()).isFalse();
    }
}
