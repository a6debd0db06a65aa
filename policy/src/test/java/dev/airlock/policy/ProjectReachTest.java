package dev.airlock.policy;

import static dev.airlock.policy.Policies.ip;
import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.address.HostAddresses;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code policy check}'s refusal of project rules that try to open what only the organisation can. */
class ProjectReachTest {

    static final String PROJECT = """
            version: 1
            project: web
            network:
              allow:
                - cidr: 127.0.0.1/32
                  ports: [8099]
                - cidr: 169.254.169.254/32
                - cidr: 10.0.0.0/8
                - cidr: 0.0.0.0/0
                  ports: [443]
                - cidr: 10.9.0.5/32
                  ports: [22]
                - cidr: 198.18.50.0/24
            """;

    private static List<ProjectReach.Finding> analyse(String orgYaml) throws PolicyException {
        ProjectPolicy p = PolicyFiles.parseProject("airlock.yaml", PROJECT);
        OrgPolicy org = orgYaml == null ? OrgPolicy.NONE : PolicyFiles.parseOrg("/etc/airlock/org.yaml", orgYaml);
        ProductionAddresses production = org.production().isEmpty() ? ProductionAddresses.NONE
                : new ProductionAddresses(Map.of(ip("198.18.50.7"), org.production().get(0)));
        return ProjectReach.analyse(p.project(), p.allow(), org, new HostAddresses(Set.of(ip("10.9.0.5"))), production);
    }

    @Test
    void analyse_loopbackCidr_isRefusedWithWhereAndTheOrgLinesToAdd() throws PolicyException {
        List<ProjectReach.Finding> f = analyse(null);
        assertThat(f).filteredOn(x -> x.severity() == ProjectReach.Severity.ERROR).extracting(Object::toString)
                .anySatisfy(s -> assertThat(s).startsWith("airlock.yaml:5:13: error: cidr 127.0.0.1/32 is loopback")
                        .contains("no project rule can open")
                        .contains("exceptions: [{project: web, cidr: 127.0.0.1/32, ports: [8099]}]")
                        .contains("NO_PROXY"))
                .anySatisfy(s -> assertThat(s).startsWith("airlock.yaml:7:13: error: cidr 169.254.169.254/32 is a cloud metadata service"))
                .anySatisfy(s -> assertThat(s).startsWith("airlock.yaml:11:13: error: cidr 10.9.0.5/32 covers 10.9.0.5, an address of this host"));
    }

    @Test
    void analyse_privateSpace_isAProjectsToOpen() throws PolicyException {
        assertThat(analyse(null)).filteredOn(f -> f.allow().describe().startsWith("10.0.0.0/8"))
                .as("only a warning that the host's own address inside stays closed")
                .singleElement().satisfies(f -> assertThat(f.severity()).isEqualTo(ProjectReach.Severity.WARNING))
                .satisfies(f -> assertThat(f.message()).contains("10.9.0.5, an address of this host"));
    }

    @Test
    void analyse_aWideCidr_isWarnedThatTheClosedPartStaysClosed() throws PolicyException {
        assertThat(analyse(null)).filteredOn(f -> f.allow().describe().startsWith("0.0.0.0/0"))
                .isNotEmpty().allMatch(f -> f.severity() == ProjectReach.Severity.WARNING);
    }

    @Test
    void analyse_anOrgException_acceptsTheRuleItGrants() throws PolicyException {
        List<ProjectReach.Finding> f = analyse("""
                version: 1
                exceptions:
                  - { project: web, cidr: 127.0.0.0/8, ports: [8099] }
                """);
        assertThat(f).noneMatch(x -> x.allow().describe().startsWith("127.0.0.1/32"));
        assertThat(f).anyMatch(x -> x.allow().describe().startsWith("169.254.169.254/32") && x.severity() == ProjectReach.Severity.ERROR);
    }

    @Test
    void analyse_aCidrOverAProductionAddress_isWarned() throws PolicyException {
        List<ProjectReach.Finding> f = analyse("""
                version: 1
                production: [api.acme.test]
                """);
        assertThat(f).filteredOn(x -> x.allow().describe().startsWith("198.18.50.0/24")).singleElement()
                .satisfies(x -> assertThat(x.toString()).contains("warning").contains("198.18.50.7").contains("api.acme.test"));
    }
}
