package dev.airlock.audit.export;

import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.Rule;
import java.util.List;

/**
 * {@code airlock policy export}: a project's policy, with its organisation's, as enforcement
 * configuration. The allows are the ones in force while the agent runs (the project's own and its
 * presets'; {@code network.setup.allow} is for workspace setup only and is not exported).
 * Output is deterministic: the same files give the same bytes.
 */
public final class PolicyExport {

    private PolicyExport() {
    }

    public static String render(ExportFormat format, ProjectPolicy project, OrgPolicy org, ExportSettings settings) throws PolicyException {
        // Compiling refuses what the engine would refuse (unknown presets, for one), as `policy check` does.
        PolicyEngine.compile(project, org, Phase.RUN, List.of());
        List<Rule> allows = PolicyEngine.effectiveAllows(project, org, Phase.RUN);
        return image(project) + switch (format) {
            case NFTABLES -> NftablesExport.render(project, settings);
            case K8S -> KubernetesExport.render(project, org, settings);
            case CILIUM -> CiliumExport.render(project, org, allows, settings);
        };
    }

    /**
     * A comment naming the devbox image and its manifest digest where the files determine it
     * (docs/images.md); nothing without {@code image:}. No registry is asked and nothing is built,
     * so the same files still give the same bytes: an unpinned tag says its digest is resolved at run time.
     */
    static String image(ProjectPolicy project) {
        if (project.image().isEmpty()) {
            return "";
        }
        String digest;
        try {
            digest = dev.airlock.runtime.ProjectImage.knownDigest(project).map(d -> "manifest " + d)
                    .orElse("manifest digest resolved at run time (pin it with @sha256: or image.digest)");
        } catch (dev.airlock.sandbox.SandboxException e) {
            digest = "manifest unreadable: " + e.getMessage().replace('\n', ' ');
        }
        return "# Devbox image: " + project.image().get().describe() + ", " + digest + "\n";
    }
}
