package dev.airlock.audit.evidence;

import dev.airlock.audit.export.ExportFormat;
import dev.airlock.audit.export.ExportSettings;
import dev.airlock.audit.export.PolicyExport;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** The evidence bundle's network policy in every form {@code airlock policy export} writes, with its defaults. */
public final class PolicyExports {

    private PolicyExports() {
    }

    public static List<NetworkPolicyExport> all() {
        return Arrays.stream(ExportFormat.values()).map(PolicyExports::of).toList();
    }

    private static NetworkPolicyExport of(ExportFormat f) {
        return new NetworkPolicyExport() {
            @Override
            public String format() {
                return f.label();
            }

            @Override
            public String fileName() {
                return switch (f) {
                    case NFTABLES -> "export.nft";
                    case K8S -> "networkpolicy.yaml";
                    case CILIUM -> "ciliumnetworkpolicy.yaml";
                };
            }

            @Override
            public String render(Path policy, Optional<Path> org) throws Exception {
                OrgPolicy o = PolicyFiles.loadOrg(org);
                return PolicyExport.render(f, PolicyFiles.loadProject(policy), o, ExportSettings.defaults(f));
            }
        };
    }
}
