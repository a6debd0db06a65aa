package dev.airlock.policy;

import static dev.airlock.policy.Policies.ip;
import static dev.airlock.policy.Policies.ips;
import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.address.HostAddresses;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.Rule;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 18 (a, b) and issue 15 §2: what no project can open. The host's loopback, link-local and
 * metadata, the host's own addresses and production (by name, by CIDR and by the addresses its
 * names resolve to) are closed to every project rule; only the organisation's {@code exceptions:}
 * open the first four, for one project, CIDR and port set.
 */
class ProtectedReachTest {

    /** A project that follows every piece of old advice: CIDRs over loopback, metadata and the host. */
    static final String PROJECT = """
            version: 1
            project: web
            network:
              allow:
                - host: app.example.test
                  ports: [80, 443, 5432, 8099]
                - cdn.example.test
                - cidr: 127.0.0.1/32
                  ports: [8099, 5432]
                - cidr: 169.254.169.254/32
                  ports: [80]
                - cidr: 10.9.0.0/16
                - cidr: 198.18.40.0/24
                - cidr: 198.18.50.7/32
                  ports: [443]
            """;

    static final String ORG = """
            version: 1
            production:
              - api.acme.test
            exceptions:
              - { project: web, cidr: 127.0.0.1/32, ports: [5432] }
              - { project: web, cidr: 10.9.0.5/32, ports: [8080] }
              - { project: other, cidr: 169.254.169.254/32, ports: [80] }
            """;

    /** The host's own addresses: a LAN address in private space, a public one, an IPv6 one. */
    static final HostAddresses HOST = new HostAddresses(Set.of(ip("10.9.0.5"), ip("198.18.40.2"), ip("2001:db8:77::2")));

    static final IpAddress PRODUCTION_ADDRESS = ip("198.18.50.7");

    private static final AtomicReference<HostAddresses> LIVE_HOST = new AtomicReference<>(HOST);

    static PolicyEngine engine() {
        try {
            OrgPolicy org = PolicyFiles.parseOrg("org.yaml", ORG);
            Rule api = org.production().get(0);
            HostFacts facts = new HostFacts(LIVE_HOST::get,
                    () -> new ProductionAddresses(Map.of(PRODUCTION_ADDRESS, api, ip("2001:db8:50::7"), api)));
            return PolicyEngine.compile(PolicyFiles.parseProject("airlock.yaml", PROJECT), org, Phase.RUN, List.of(), facts);
        } catch (PolicyException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    private static final PolicyEngine ENGINE = engine();

    private static Decision decide(String host, int port, String answers) {
        return ENGINE.decide(new EgressRequest(host, port, ips(answers), List.of()));
    }

    @ParameterizedTest(name = "{0}: {1}:{2} answering {3} -> {4}")
    @CsvSource(delimiter = '|', textBlock = """
        old advice: cidr 127.0.0.1/32 does not open loopback     | 127.0.0.1        | 8099 | -              | protected-address
        an allowed name answering loopback                       | app.example.test | 8099 | 127.0.0.1      | protected-address
        old advice: cidr 169.254.169.254/32 does not open IMDS   | 169.254.169.254  | 80   | -              | protected-address
        an allowed name answering metadata                       | app.example.test | 80   | 169.254.169.254 | protected-address
        an allowed name answering the host's LAN address         | app.example.test | 443  | 10.9.0.5       | host-address
        the host's LAN address by IP, inside a project cidr      | 10.9.0.5         | 443  | -              | host-address
        the host's public address, inside a project cidr         | 198.18.40.2      | 443  | -              | host-address
        an allowed name answering the host's public address      | cdn.example.test | 443  | 198.18.40.2    | host-address
        the host's IPv6 address, answered for an allowed name    | app.example.test | 443  | 2001:db8:77::2 | host-address
        the host's address carried in a mapped IPv6 address      | ::ffff:10.9.0.5  | 443  | -              | host-address
        the host's address carried in NAT64                      | app.example.test | 443  | 64:ff9b::a09:5 | host-address
        a production name's address by IP literal                | 198.18.50.7      | 443  | -              | production
        a production name's address, inside a project cidr       | 198.18.50.7      | 80   | -              | production
        another allowed name answering a production address      | cdn.example.test | 443  | 198.18.50.7    | production
        a production address beside a public one                | cdn.example.test | 443  | 198.18.0.9 198.18.50.7 | production
        a production name's IPv6 address, mapped view too        | 2001:db8:50::7   | 443  | -              | production
        an exception for another project does not apply          | 169.254.169.254  | 80   | -              | protected-address
        an exception on one port does not open another           | 127.0.0.1        | 5433 | -              | protected-address
        """)
    void decide_closedToProjects(String description, String host, int port, String answers, String reason) {
        Decision d = decide(host, port, answers);
        assertThat(d.allowed()).as(description).isFalse();
        assertThat(d.reason().code).as(description + ": " + d.detail()).isEqualTo(reason);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
        positive control: private space a project cidr opens      | 10.9.3.4         | 443  | -
        positive control: an allowed name answering private space | app.example.test | 443  | 10.9.3.4
        positive control: a public address in the project's cidr  | 198.18.40.9      | 443  | -
        the organisation's exception opens the host's loopback    | 127.0.0.1        | 5432 | -
        the exception opens it for an allowed name too            | app.example.test | 5432 | 127.0.0.1
        the exception opens the host's LAN address on its port    | 10.9.0.5         | 8080 | -
        """)
    void decide_opened(String description, String host, int port, String answers) {
        Decision d = decide(host, port, answers);
        assertThat(d.allowed()).as(description + ": " + d.detail()).isTrue();
    }

    @Test
    void decide_exception_isNamedAsTheRule() {
        Decision d = decide("127.0.0.1", 5432, "-");
        assertThat(d.ruleText()).contains("org.yaml:").contains("organisation exception for web");
    }

    @Test
    void decide_productionAddress_namesTheProductionEntry() {
        Decision d = decide("cdn.example.test", 443, "198.18.50.7");
        assertThat(d.detail()).contains("198.18.50.7").contains("production name api.acme.test").contains("org.yaml:3:");
        assertThat(d.rule()).hasValueSatisfying(r -> assertThat(r.kind()).isEqualTo(Rule.Kind.PRODUCTION));
    }

    @Test
    void decide_hostAddresses_areReadLive() {
        try {
            assertThat(decide("198.18.40.77", 443, "-").allowed()).as("not yet a host address").isTrue();
            LIVE_HOST.set(new HostAddresses(Set.of(ip("198.18.40.77"))));
            assertThat(decide("198.18.40.77", 443, "-").reason()).as("assigned to an interface since").isEqualTo(Reason.HOST_ADDRESS);
            assertThat(decide("10.9.0.5", 443, "-").allowed()).as("no longer the host's").isTrue();
        } finally {
            LIVE_HOST.set(HOST);
        }
    }

    @Test
    void decide_withoutHostFacts_theBuiltInsStillHold() throws PolicyException {
        PolicyEngine plain = PolicyEngine.compile(PolicyFiles.parseProject("airlock.yaml", PROJECT), OrgPolicy.NONE, Phase.RUN, List.of());
        assertThat(plain.decide(new EgressRequest("127.0.0.1", 5432, List.of(), List.of())).reason())
                .as("no org file: loopback stays closed").isEqualTo(Reason.PROTECTED_ADDRESS);
        assertThat(plain.decide(new EgressRequest("169.254.169.254", 80, List.of(), List.of())).reason())
                .isEqualTo(Reason.PROTECTED_ADDRESS);
        assertThat(plain.decide(new EgressRequest("10.9.0.5", 443, List.of(), List.of())).allowed())
                .as("positive control: private space still opens by project cidr").isTrue();
    }
}
