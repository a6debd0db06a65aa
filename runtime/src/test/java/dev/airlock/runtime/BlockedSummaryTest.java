package dev.airlock.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditEvent;
import java.util.List;
import org.junit.jupiter.api.Test;

class BlockedSummaryTest {

    private static AuditEvent deny(String name, int port, String reason, List<String> addresses) {
        return new AuditEvent(AuditEvent.Event.DECISION, "alk1", "demo", AuditEvent.Via.TRANSPARENT, "c", name, port, addresses,
                "deny", "-", reason, 0, 0, 0);
    }

    @Test
    void of_groupsByTargetAndReasonAndCounts() {
        List<BlockedSummary.Line> lines = BlockedSummary.of(List.of(
                deny("api.pay.test", 443, "production", List.of()),
                deny("api.pay.test", 443, "production", List.of()),
                deny("docs.test", 8080, "no-rule", List.of()),
                new AuditEvent(AuditEvent.Event.DECISION, "alk1", "demo", AuditEvent.Via.EXPLICIT, "c", "ok.test", 443, List.of("198.18.0.1"),
                        "allow", "ok.test", "allowed", 0, 0, 0)));
        assertThat(lines).containsExactly(
                new BlockedSummary.Line("api.pay.test:443", "production", 2, "production: cannot be allowed"),
                new BlockedSummary.Line("docs.test:8080", "no-rule", 1, "add to network.allow: - docs.test:8080"));
    }

    @Test
    void fix_protectedAddress_suggestsACidrForTheAddressAndPort() {
        assertThat(BlockedSummary.fix(deny("169.254.169.254", 80, "ip-literal", List.of("169.254.169.254"))))
                .isEqualTo("add to network.allow: - {cidr: 169.254.169.254/32, ports: [80]}");
    }

    @Test
    void fix_webPorts_needNoPortInTheSuggestion() {
        assertThat(BlockedSummary.fix(deny("docs.test", 443, "no-rule", List.of()))).isEqualTo("add to network.allow: - docs.test");
    }

    @Test
    void fix_frontingRefusals_sayWhatHappenedAndNeverSuggestAllowingTheFront() {
        assertThat(BlockedSummary.fix(deny("cdn.test", 443, "sni-mismatch", List.of("198.18.0.5"))))
                .startsWith("the bytes named another host than the one allowed (fronting or a host switch)");
        assertThat(BlockedSummary.fix(deny("cdn.test", 80, "host-mismatch", List.of("198.18.0.5"))))
                .startsWith("the bytes named another host than the one allowed");
        assertThat(BlockedSummary.fix(deny("cdn.test", 80, "http2-cleartext", List.of("198.18.0.5"))))
                .isEqualTo("HTTP/2 without TLS is refused (its hosts cannot be checked); use TLS or HTTP/1.1");
    }

    @Test
    void render_nothingBlocked_saysSo() {
        assertThat(BlockedSummary.render(List.of())).isEqualTo("airlock: nothing was blocked\n");
    }
}
