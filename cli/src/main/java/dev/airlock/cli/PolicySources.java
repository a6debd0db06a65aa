package dev.airlock.cli;

import dev.airlock.gateway.host.HostFactsService;
import dev.airlock.gateway.host.InterfaceAddresses;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.gateway.resolve.Resolvers;
import dev.airlock.policy.HostFacts;
import dev.airlock.policy.address.HostAddresses;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import picocli.CommandLine.Option;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** The --policy, --org, --hosts and --host-addresses options shared by commands, with DESIGN.md §2's defaults. */
final class PolicySources {

    static final Path SYSTEM_ORG = Path.of("/etc/airlock/org.yaml");

    @Option(names = "--policy", paramLabel = "FILE", defaultValue = "airlock.yaml",
            description = "Project policy (default: ./airlock.yaml).")
    Path policy;

    @Option(names = "--org", paramLabel = "FILE",
            description = "Organisation policy (default: $AIRLOCK_ORG, then /etc/airlock/org.yaml if it exists).")
    Path org;

    @Option(names = "--hosts", paramLabel = "FILE",
            description = "A hosts map in /etc/hosts format that replaces the system resolver.")
    Path hosts;

    @Option(names = "--host-addresses", paramLabel = "LIST", split = ",",
            description = "Decide as on a host with these addresses (comma-separated; 'none' for none) instead of "
                    + "reading this host's interfaces: the host's own addresses are closed to every project.")
    List<String> hostAddresses;

    /**
     * The host's own addresses and the production names' addresses, as a gateway on this host
     * would know them: the interfaces read now (or --host-addresses), the exact production names
     * resolved once with the same resolver as the target.
     */
    HostFacts hostFacts(OrgPolicy org) throws PolicyException, IOException {
        InterfaceAddresses interfaces = InterfaceAddresses.SYSTEM;
        if (hostAddresses != null) {
            HostAddresses given = PolicyCheckCommand.hostAddresses(hostAddresses);
            interfaces = given::addresses;
        }
        // Resolution failures of production names are diagnostics: stderr, like every diagnostic.
        return HostFactsService.once(interfaces, org.production(), resolver(), System.err);
    }

    ProjectPolicy project() throws PolicyException {
        return PolicyFiles.loadProject(policy);
    }

    OrgPolicy orgPolicy() throws PolicyException {
        Optional<Path> path = orgPath(org);
        return PolicyFiles.loadOrg(path);
    }

    static Optional<Path> orgPath(Path explicit) {
        if (explicit != null) {
            return Optional.of(explicit);
        }
        String env = System.getenv("AIRLOCK_ORG");
        if (env != null && !env.isBlank()) {
            return Optional.of(Path.of(env));
        }
        return Files.exists(SYSTEM_ORG) ? Optional.of(SYSTEM_ORG) : Optional.empty();
    }

    Resolver resolver() throws PolicyException {
        // Uncached on purpose: explain asks one name once and reports the answer as given.
        return Resolvers.uncached(Optional.ofNullable(hosts));
    }

    String resolverName() {
        return hosts != null ? "hosts map " + hosts : "system DNS";
    }
}
