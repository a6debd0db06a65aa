package dev.airlock.audit.battery;

import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.Rule;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/**
 * Everything the battery aims at, found before the sandbox runs: the policies, the names the
 * hosts map knows (to give wildcard rules concrete names), how the gateway resolves a name, the
 * sandbox's and its neighbour's link addresses, the gateway's ports, the listeners the audit
 * started on the host, and the host paths the sandbox must not see.
 *
 * @param allow        the allow rules in force (project rules and the presets it names)
 * @param resolve      a name to its addresses as the gateway would resolve it (empty: not resolvable here)
 * @param hiddenPaths  host paths that exist and must be invisible in the sandbox, with their category
 * @param hostAddresses the host's own addresses (every interface), read when the audit started
 */
record BatteryContext(ProjectPolicy project, OrgPolicy org, List<Rule> allow, List<String> knownNames,
        Function<String, List<String>> resolve, String hostAddress, String sandboxAddress, String neighbourHostAddress,
        String neighbourSandboxAddress, int transparentPort, int dnsPort, int proxyPort, LocalTarget.Tcp hostListener,
        LocalTarget.Tcp loopbackListener, LocalTarget.Udp udpListener, List<HiddenPath> hiddenPaths, java.util.Optional<Integer> daemonPort,
        List<String> hostAddresses) {

    public BatteryContext {
        allow = List.copyOf(allow);
        knownNames = List.copyOf(knownNames);
        hiddenPaths = List.copyOf(hiddenPaths);
        hostAddresses = List.copyOf(hostAddresses);
    }

    /** Without the host's addresses: no probe aims at an allowed name that answers one. */
    public BatteryContext(ProjectPolicy project, OrgPolicy org, List<Rule> allow, List<String> knownNames,
            Function<String, List<String>> resolve, String hostAddress, String sandboxAddress, String neighbourHostAddress,
            String neighbourSandboxAddress, int transparentPort, int dnsPort, int proxyPort, LocalTarget.Tcp hostListener,
            LocalTarget.Tcp loopbackListener, LocalTarget.Udp udpListener, List<HiddenPath> hiddenPaths,
            java.util.Optional<Integer> daemonPort) {
        this(project, org, allow, knownNames, resolve, hostAddress, sandboxAddress, neighbourHostAddress, neighbourSandboxAddress,
                transparentPort, dnsPort, proxyPort, hostListener, loopbackListener, udpListener, hiddenPaths, daemonPort, List.of());
    }

    /** A host path the sandbox must not list or read; {@code what} names it in the report. */
    public record HiddenPath(String id, String what, Path path) {
    }
}
