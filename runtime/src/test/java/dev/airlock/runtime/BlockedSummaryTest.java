package dev.airlock.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.AddressClassifier;
import java.util.List;
import org.junit.jupiter.api.Test;

class BlockedSummaryTest {

    private static final AddressClassifier CLASSIFIER = new AddressClassifier();

    private static AuditEvent deny(String name, int port, Reason reason, List<String> addresses) {
        return new AuditEvent(AuditEvent.Event.DECISION, "alk1", "demo", AuditEvent.Via.TRANSPARENT, "c", name, port, addresses,
                AuditEvent.Decision.DENY, "-", reason, 0, 0, 0);
    }

    @Test
    void of_groupsByTargetAndReasonAndCounts() {
        List<BlockedSummary.Line> lines = BlockedSummary.of(List.of(
                deny("api.pay.test", 443, Reason.PRODUCTION, List.of()),
                deny("api.pay.test", 443, Reason.PRODUCTION, List.of()),
                deny("docs.test", 8080, Reason.NO_RULE, List.of()),
                new AuditEvent(AuditEvent.Event.DECISION, "alk1", "demo", AuditEvent.Via.EXPLICIT, "c", "ok.test", 443, List.of("198.18.0.1"),
                        AuditEvent.Decision.ALLOW, "ok.test", Reason.ALLOWED, 0, 0, 0)), "airlock.yaml", CLASSIFIER);
        assertThat(lines).containsExactly(
                new BlockedSummary.Line("api.pay.test:443", Reason.PRODUCTION, 2, "cannot be allowed: it is in the organisation's "
                        + "production set; instead: never: no sandbox reaches production, and no rule can change that"),
                new BlockedSummary.Line("docs.test:8080", Reason.NO_RULE, 1, "add under network.allow in airlock.yaml: - docs.test:8080"));
    }

    @Test
    void fix_privateAddress_suggestsACidrForTheAddressAndPort() {
        assertThat(BlockedSummary.fix(deny("db.test", 5432, Reason.PROTECTED_ADDRESS, List.of("10.1.2.3")), "airlock.yaml", CLASSIFIER))
                .isEqualTo("add under network.allow in airlock.yaml: - {cidr: 10.1.2.3/32, ports: [5432]}");
    }

    /** Issue 18: the demo's summary advised "- cidr: 169.254.169.254/32" for the metadata call it calls credential theft. */
    @Test
    void fix_metadata_neverSuggestsARule() {
        String fix = BlockedSummary.fix(deny("169.254.169.254", 80, Reason.PROTECTED_ADDRESS, List.of("169.254.169.254")), "airlock.yaml",
                CLASSIFIER);
        assertThat(fix).startsWith("cannot be allowed").contains("never").doesNotContain("169.254.169.254").doesNotContain("cidr:");
    }

    /** Issue 18: "- {cidr: 127.0.0.1/32}" opened the host's loopback; the sandbox's own is reached directly. */
    @Test
    void fix_loopback_saysSetNoProxyInstead() {
        String fix = BlockedSummary.fix(deny("127.0.0.1", 8099, Reason.IP_LITERAL, List.of("127.0.0.1")), "airlock.yaml", CLASSIFIER);
        assertThat(fix).startsWith("cannot be allowed").contains("NO_PROXY").doesNotContain("cidr:");
    }

    @Test
    void fix_hostAddress_asksForAnOrganisationException() {
        String fix = BlockedSummary.fix(deny("app.test", 8080, Reason.HOST_ADDRESS, List.of("198.18.40.2")), "airlock.yaml", CLASSIFIER);
        assertThat(fix).startsWith("cannot be allowed: this is the host's own address").contains("exceptions:")
                .doesNotContain("198.18.40.2");
    }

    /** Issue 18 (3): pooled runs said "add under network.allow in daemon:"; they name the file the daemon loaded. */
    @Test
    void fix_namesThePolicyFileItIsGiven() {
        assertThat(BlockedSummary.fix(deny("docs.test", 443, Reason.NO_RULE, List.of()), "/srv/projects/web/airlock.yaml", CLASSIFIER))
                .isEqualTo("add under network.allow in /srv/projects/web/airlock.yaml: - docs.test");
    }

    @Test
    void fix_frontingRefusals_sayWhatHappenedAndNeverSuggestAllowingTheFront() {
        assertThat(BlockedSummary.fix(deny("cdn.test", 443, Reason.SNI_MISMATCH, List.of("198.18.0.5")), "airlock.yaml", CLASSIFIER))
                .startsWith("the bytes named another host than the one allowed (fronting or a host switch)");
        assertThat(BlockedSummary.fix(deny("cdn.test", 80, Reason.HOST_MISMATCH, List.of("198.18.0.5")), "airlock.yaml", CLASSIFIER))
                .startsWith("the bytes named another host than the one allowed");
        assertThat(BlockedSummary.fix(deny("cdn.test", 80, Reason.HTTP2_CLEARTEXT, List.of("198.18.0.5")), "airlock.yaml", CLASSIFIER))
                .isEqualTo("HTTP/2 without TLS is refused (its hosts cannot be checked); use TLS or HTTP/1.1");
    }

    @Test
    void render_nothingBlocked_saysSo() {
        assertThat(BlockedSummary.render(List.of())).isEqualTo("airlock: nothing was blocked\n");
    }
}
