package dev.airlock.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.ProductionOverlap.Finding;
import dev.airlock.policy.ProductionOverlap.Severity;
import dev.airlock.policy.model.ProjectPolicy;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Production always wins at decision time, so an allow that touches production is never a hole,
 * but it is a mistake a reviewer must see: one the production set swallows whole can never take
 * effect (an error), one that merely overlaps it is partly dead (a warning). Both name both rules.
 * Production here is {@link Policies#ORG}: api.acme.com, *.prod.acme.internal, 10.20.0.0/16 and
 * 2001:db8:20::/48.
 */
class ProductionOverlapTest {

    /** The findings for one allow entry, written as it would be in airlock.yaml (line 5). */
    private static List<Finding> analyse(String entry) {
        ProjectPolicy p = Policies.project("""
                version: 1
                project: demo
                network:
                  allow:
                    - %s
                """.formatted(entry));
        return ProductionOverlap.analyse(p.allow(), Policies.org().production());
    }

    @ParameterizedTest(name = "{0}: {1} is swallowed by {2}")
    @CsvSource(delimiter = '|', textBlock = """
        the production name itself                   | api.acme.com                     | api.acme.com
        the production name on another port          | api.acme.com:8443                | api.acme.com
        a name under a production wildcard           | db.prod.acme.internal            | *.prod.acme.internal
        a wildcard under a production wildcard       | '"*.db.prod.acme.internal"'      | *.prod.acme.internal
        the production wildcard itself               | '"*.prod.acme.internal"'         | *.prod.acme.internal
        a CIDR inside a production CIDR              | 'cidr: 10.20.1.0/24'             | 10.20.0.0/16
        the production CIDR itself                   | 'cidr: 10.20.0.0/16'             | 10.20.0.0/16
        one production address                       | 'cidr: 10.20.1.5/32'             | 10.20.0.0/16
        an IPv6 CIDR inside a production CIDR        | 'cidr: 2001:db8:20:1::/64'       | 2001:db8:20::/48
        """)
    void analyse_swallowed_isAnError(String description, String entry, String production) {
        List<Finding> findings = analyse(entry);
        assertThat(findings).as(description).singleElement().satisfies(f -> {
            assertThat(f.severity()).isEqualTo(Severity.ERROR);
            assertThat(f.production().describe()).isEqualTo(production);
            assertThat(f.message()).contains(f.allow().describe()).contains(production).contains("can never take effect");
            assertThat(f.toString()).startsWith("airlock.yaml:5:").contains(": error: ");
            assertThat(f.message()).contains("org.yaml:").as("names where the production rule is");
        });
    }

    @ParameterizedTest(name = "{0}: {1} overlaps {2}")
    @CsvSource(delimiter = '|', textBlock = """
        a wildcard above a production name           | '"*.acme.com"'                   | api.acme.com
        a wildcard above a production wildcard       | '"*.acme.internal"'              | *.prod.acme.internal
        a CIDR around a production CIDR              | 'cidr: 10.0.0.0/8'               | 10.20.0.0/16
        all of IPv4                                  | 'cidr: 0.0.0.0/0'                | 10.20.0.0/16
        an IPv6 CIDR around a production CIDR        | 'cidr: 2001:db8::/32'            | 2001:db8:20::/48
        """)
    void analyse_overlap_isAWarning(String description, String entry, String production) {
        List<Finding> findings = analyse(entry);
        assertThat(findings).as(description).singleElement().satisfies(f -> {
            assertThat(f.severity()).isEqualTo(Severity.WARNING);
            assertThat(f.production().describe()).isEqualTo(production);
            assertThat(f.message()).contains(f.allow().describe()).contains(production).contains("stays denied");
            assertThat(f.toString()).startsWith("airlock.yaml:5:").contains(": warning: ");
        });
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
        an unrelated name                            | github.com
        a sibling of a production name               | www.acme.com
        the parent of a production name              | acme.com
        the apex of a production wildcard            | prod.acme.internal
        a suffix without a label boundary            | xapi.acme.com
        a wildcard beside production                 | '"*.staging.acme.com"'
        a CIDR beside a production CIDR              | 'cidr: 10.21.0.0/16'
        an IPv6 CIDR beside a production CIDR        | 'cidr: 2001:db8:21::/48'
        """)
    void analyse_disjoint_findsNothing(String description, String entry) {
        assertThat(analyse(entry)).as(description).isEmpty();
    }

    @Test
    void analyse_cidrAllow_isNotComparedWithProductionNames() {
        // A name rule cannot be compared with a CIDR statically; the address gate does it at runtime.
        assertThat(analyse("cidr: 198.18.0.0/15")).isEmpty();
    }

    @Test
    void analyse_reportsEveryPair() {
        ProjectPolicy p = Policies.project("""
                version: 1
                project: demo
                network:
                  allow:
                    - api.acme.com
                    - "*.acme.com"
                    - cidr: 10.0.0.0/8
                    - github.com
                """);
        List<Finding> findings = ProductionOverlap.analyse(p.allow(), Policies.org().production());
        assertThat(findings).extracting(Finding::severity)
                .containsExactly(Severity.ERROR, Severity.WARNING, Severity.WARNING);
        assertThat(findings).extracting(f -> f.allow().position().line()).containsExactly(5, 6, 7);
    }
}
