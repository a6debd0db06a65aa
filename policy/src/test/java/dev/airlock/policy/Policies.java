package dev.airlock.policy;

import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import java.util.Arrays;
import java.util.List;

/**
 * Test fixtures: the organisation and project policies the engine tests decide against, written
 * as users write them, and loaded through the real loader so positions are real.
 */
final class Policies {

    /** The security team's file: one production name, one production wildcard, two CIDRs. */
    static final String ORG = """
            version: 1
            production:
              - api.acme.com
              - "*.prod.acme.internal"
              - cidr: 10.20.0.0/16
              - cidr: 2001:db8:20::/48
            presets: { acme-ci: [ci.acme.dev, "*.artifacts.acme.dev"] }
            """;

    /**
     * A project that tries hard to open production (exactly, by wildcard and by CIDR), opens one
     * private range on one port, and denies inside its own allows.
     */
    static final String PROJECT = """
            version: 1
            project: payments
            network:
              allow:
                - github.com
                - "*.githubusercontent.com"
                - ssh.github.com:22
                - host: staging.acme.dev
                  ports: [443, 8443]
                - host: db.acme.dev
                  ports: [5432]
                - build.internal.acme.dev
                - api.acme.com
                - "*.acme.com"
                - "*.acme.internal"
                - cidr: 10.1.0.0/16
                  ports: [5432]
                - cidr: 198.18.9.0/24
                  ports: [22]
                - cidr: 10.20.0.0/16
                  ports: [443, 5432]
                - cidr: 2001:db8:20::/48
              deny:
                - "*.internal.acme.dev"
                - gist.githubusercontent.com
                - cidr: 198.18.66.0/24
              setup:
                allow: [registry.npmjs.org, api.acme.com]
            """;

    /** The gateway's and the sandboxes' link ranges. */
    static final List<Cidr> LINKS = List.of(Cidr.of("10.200.0.0/16"), Cidr.of("fd42:a1::/64"));

    private Policies() {
    }

    static OrgPolicy org() {
        try {
            return PolicyFiles.parseOrg("org.yaml", ORG);
        } catch (PolicyException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    static ProjectPolicy project(String yaml) {
        try {
            return PolicyFiles.parseProject("airlock.yaml", yaml);
        } catch (PolicyException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    static PolicyEngine engine(Phase phase) {
        return engine(PROJECT, phase);
    }

    static PolicyEngine engine(String projectYaml, Phase phase) {
        try {
            return PolicyEngine.compile(project(projectYaml), org(), phase, LINKS);
        } catch (PolicyException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    static IpAddress ip(String text) {
        if (IpLiterals.shape(text) instanceof IpLiterals.Canonical c) {
            return c.address();
        }
        throw new IllegalArgumentException("test address is not canonical: " + text);
    }

    /** Space-separated canonical addresses; "-" or blank for none. */
    static List<IpAddress> ips(String text) {
        if (text == null || text.isBlank() || text.equals("-")) {
            return List.of();
        }
        return Arrays.stream(text.trim().split("\\s+")).map(Policies::ip).toList();
    }
}
