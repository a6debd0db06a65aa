package dev.airlock.policy;

import static dev.airlock.policy.Policies.ip;
import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.address.AddressClassifier;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.HostAddresses;
import dev.airlock.policy.address.IpAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 18 (c): advice never proposes a rule the gates would refuse. For each protected class a
 * project cannot open, and for a production address, no advice line on any surface names the
 * address, under any reason it can be denied with; for private space (positive control) the CIDR
 * rule is proposed.
 */
class AdviceTest {

    private static final AddressClassifier CLASSIFIER = new AddressClassifier(List.of(Cidr.of("100.96.0.0/16")),
            () -> new HostAddresses(Set.of(ip("10.9.0.5"), ip("198.18.40.2"))));

    private static final String NO_PROXY = "localhost,127.0.0.0/8,::1";

    /** Every way a surface can hold advice: 403 body and explain lines, summary and dashboard line, the header text. */
    private static List<String> everyLine(Advice a) {
        List<String> out = new ArrayList<>(a.lines("airlock.yaml"));
        out.add(a.line("airlock.yaml"));
        return out;
    }

    @ParameterizedTest(name = "{0}: {1} as {2}")
    @CsvSource(delimiter = '|', textBlock = """
        loopback, by IP                          | 127.0.0.1        | ip-literal
        loopback, answered for a name            | 127.0.0.1        | protected-address
        loopback elsewhere in 127/8              | 127.0.0.53       | protected-address
        IPv6 loopback                            | ::1              | protected-address
        loopback in a mapped address             | ::ffff:127.0.0.1 | protected-address
        cloud metadata                           | 169.254.169.254  | ip-literal
        cloud metadata, answered                 | 169.254.169.254  | protected-address
        AWS IMDS over IPv6                       | fd00:ec2::254    | protected-address
        metadata in NAT64                        | 64:ff9b::a9fe:a9fe | protected-address
        link-local                               | 169.254.3.4      | protected-address
        IPv6 link-local                          | fe80::1          | protected-address
        the host's LAN address                   | 10.9.0.5         | host-address
        the host's LAN address, by IP            | 10.9.0.5         | ip-literal
        the host's public address                | 198.18.40.2      | protected-address
        an Airlock link                          | 100.96.0.9       | protected-address
        multicast                                | 224.0.0.251      | ip-literal
        unspecified                              | 0.0.0.0          | ip-literal
        a production name's address              | 198.18.50.7      | production
        """)
    void advice_neverNamesAClosedAddress(String description, String address, String reasonCode) {
        Reason reason = java.util.Arrays.stream(Reason.values()).filter(r -> r.code.equals(reasonCode)).findFirst().orElseThrow();
        IpAddress a = ip(address);
        for (Advice advice : List.of(
                Advice.of(reason, a.toString(), 8099, Optional.of(a), Optional.empty(), CLASSIFIER),
                Advice.of(reason, "app.example.test", 8099, Optional.of(a), Optional.empty(), CLASSIFIER),
                Advice.of(reason, a.toString(), 8099, Optional.empty(), Optional.empty(), CLASSIFIER))) {
            assertThat(advice).as(description).isInstanceOf(Advice.CannotAllow.class);
            for (String line : everyLine(advice)) {
                // The NO_PROXY value to set names the loopback ranges themselves, as values to exempt, not to allow.
                assertThat(line.replace(NO_PROXY, "")).as(description).doesNotContain(a.toString()).doesNotContain("cidr:").doesNotContain("network.allow");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
        positive control: private space           | 10.1.2.3    | - cidr: 10.1.2.3/32
        positive control: CGNAT                    | 100.64.0.1  | - cidr: 100.64.0.1/32
        positive control: ULA                      | fd00:1::9   | - cidr: fd00:1::9/128
        positive control: a public address         | 198.18.0.10 | - cidr: 198.18.0.10/32
        """)
    void advice_opensWhatAProjectMayOpen(String description, String address, String yaml) {
        IpAddress a = ip(address);
        Advice advice = Advice.of(Reason.PROTECTED_ADDRESS, "app.example.test", 5432, Optional.of(a), Optional.empty(), CLASSIFIER);
        assertThat(advice.lines("airlock.yaml")).containsExactly("to allow it, add under network.allow in airlock.yaml:",
                "  " + yaml, "    ports: [5432]");
        assertThat(advice.line("/srv/p/airlock.yaml")).isEqualTo("add under network.allow in /srv/p/airlock.yaml: - {cidr: "
                + a + "/" + a.family().bits + ", ports: [5432]}");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
        loopback: the sandbox's own, reached directly  | 127.0.0.1       | NO_PROXY
        metadata: never                                | 169.254.169.254 | never
        the host's own address: an org exception       | 10.9.0.5        | exceptions:
        """)
    void advice_saysWhatToDoInstead(String description, String address, String instead) {
        IpAddress a = ip(address);
        Advice advice = Advice.of(Reason.PROTECTED_ADDRESS, a.toString(), 8099, Optional.of(a), Optional.empty(), CLASSIFIER);
        assertThat(advice.line("airlock.yaml")).as(description).contains(instead);
    }

    @org.junit.jupiter.api.Test
    void limit_namesTheLimitTheRecordNames() {
        Advice named = Advice.of(Reason.LIMIT, "-", 0, Optional.empty(),
                Optional.of("limit: no complete request head within 10000 ms (headerReadTimeout)"), CLASSIFIER);
        assertThat(named.line("airlock.yaml")).contains("a gateway limit was reached: no complete request head within 10000 ms (headerReadTimeout)");
        assertThat(Advice.of(Reason.LIMIT, "-", 0, Optional.empty(), Optional.empty(), CLASSIFIER).line("airlock.yaml"))
                .contains("a gateway limit was reached");
    }
}
