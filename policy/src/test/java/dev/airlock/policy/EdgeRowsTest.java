package dev.airlock.policy;

import static dev.airlock.policy.Policies.ips;
import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.name.HostNames;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 18 (f): rows other egress proxies test that our tables lacked. Port-scoped deny rules on
 * one address; names with an underscore; valid Punycode that java.net.IDN (IDNA 2003, Unicode 3.2)
 * cannot check, which Airlock refuses rather than guesses at (docs/policy.md says why).
 */
class EdgeRowsTest {

    private static final String PROJECT = """
            version: 1
            project: edges
            network:
              allow:
                - cidr: 198.18.60.0/24
                  ports: [22, 443]
                - host: db.example.test
                  ports: [22, 443]
              deny:
                - cidr: 198.18.60.7/32
                  ports: [22]
            """;

    private static PolicyEngine engine() {
        try {
            return PolicyEngine.compile(PolicyFiles.parseProject("airlock.yaml", PROJECT), OrgPolicy.NONE, Phase.RUN, List.of());
        } catch (PolicyException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    private static final PolicyEngine ENGINE = engine();

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
        the denied port on the one address, by IP               | 198.18.60.7     | 22  | -           | deny-rule
        another port on the same address stays allowed          | 198.18.60.7     | 443 | -           | allowed
        the denied port on the next address stays allowed       | 198.18.60.8     | 22  | -           | allowed
        the denied port, answered for an allowed name           | db.example.test | 22  | 198.18.60.7 | deny-rule
        another port, answered for an allowed name              | db.example.test | 443 | 198.18.60.7 | allowed
        the denied port in IPv4-mapped form                     | ::ffff:198.18.60.7 | 22 | -        | deny-rule
        """)
    void decide_portScopedDenyOnOneAddress(String description, String host, int port, String answers, String reason) {
        assertThat(ENGINE.decide(new EgressRequest(host, port, ips(answers), List.of())).reason().code).as(description).isEqualTo(reason);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
        an underscore in a label (SRV-style)          | _sip._tcp.example.com
        an underscore inside a host label             | my_host.example.com
        """)
    void canonicalize_underscore_isRefusedAsNotAHostName(String description, String name) {
        // Host names are LDH (RFC 952/1123); '_' names services, never a host to connect to.
        assertThat(HostNames.canonicalize(name)).as(description).isInstanceOfSatisfying(HostNames.Invalid.class,
                i -> assertThat(i.why()).contains("'_' is not allowed"));
        assertThat(ENGINE.decide(new EgressRequest(name, 443, List.of(), List.of())).reason()).isEqualTo(Reason.BAD_REQUEST);
    }

    @Test
    void canonicalize_punycodeBeyondUnicode32_isRefusedSayingWhy() {
        // xn--jv8h is U+1F4A9, valid under UTS-46 (NV8) but unassigned in the Unicode 3.2 that
        // java.net.IDN implements: refused, never guessed at (fail closed; docs/policy.md).
        assertThat(HostNames.canonicalize("xn--jv8h.example.com")).isInstanceOfSatisfying(HostNames.Invalid.class,
                i -> assertThat(i.why()).contains("xn--jv8h").contains("Unicode 3.2"));
        assertThat(HostNames.canonicalize("xn--bcher-kva.example")).as("positive control: Punycode IDNA 2003 knows")
                .isEqualTo(new HostNames.Canonical("xn--bcher-kva.example"));
    }
}
