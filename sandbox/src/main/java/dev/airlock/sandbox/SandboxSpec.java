package dev.airlock.sandbox;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * What to build: the project (for records and the audit trail), the workspace, the cgroup limits
 * and the gateway's ports.
 *
 * <p>The workspace is one of two kinds. Without a {@code template}, {@code workspace} is a host
 * directory bound read-write at {@code /workspace} as it is. With one, {@code workspace} is that
 * template tree, and {@code /workspace} is a copy-on-write overlay over it: the sandbox's writes
 * land in its own upper directory, never in the template, and the mount costs the same whatever
 * the size of the tree. A template must sit under {@code <state>/templates/<project>/} of the
 * launcher's state directory, for this spec's project: one project's sandbox never mounts another's.
 *
 * <p>{@code image}, when present, is an unpacked image of the launcher's {@link ImageStore}: the
 * sandbox's root instead of the host's /usr (docs/images.md). {@code layer}, over that image only: a
 * project's root layer ({@link RootLayer}).
 */
public record SandboxSpec(String project, Path workspace, Resources resources, GatewayPorts gateway, Optional<Path> template,
        WorkspaceProtection protection, TrustBundle trust, Optional<Path> image, RootLayer layer) {

    public SandboxSpec {
        Objects.requireNonNull(project, "project");
        Objects.requireNonNull(workspace, "workspace");
        Objects.requireNonNull(resources, "resources");
        Objects.requireNonNull(gateway, "gateway");
        Objects.requireNonNull(template, "template");
        Objects.requireNonNull(protection, "protection");
        Objects.requireNonNull(trust, "trust");
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(layer, "layer");
        if (!(layer instanceof RootLayer.None) && image.isEmpty()) {
            throw new IllegalArgumentException("a root layer lies over an image; the host's root has none: " + layer);
        }
        if (template.isPresent() && !template.get().equals(workspace)) {
            throw new IllegalArgumentException("with a template, the workspace is the template tree: " + template.get() + " != " + workspace);
        }
    }

    /** As given, with no root layer over the image. */
    public SandboxSpec(String project, Path workspace, Resources resources, GatewayPorts gateway, Optional<Path> template,
            WorkspaceProtection protection, TrustBundle trust, Optional<Path> image) {
        this(project, workspace, resources, gateway, template, protection, trust, image, RootLayer.NONE);
    }

    /** As given, trusting the host's system bundle only, on the host's root (no image). */
    public SandboxSpec(String project, Path workspace, Resources resources, GatewayPorts gateway, Optional<Path> template,
            WorkspaceProtection protection) {
        this(project, workspace, resources, gateway, template, protection, TrustBundle.SYSTEM, Optional.empty());
    }

    /** As given, with {@link WorkspaceProtection#DEFAULT}. */
    public SandboxSpec(String project, Path workspace, Resources resources, GatewayPorts gateway, Optional<Path> template) {
        this(project, workspace, resources, gateway, template, WorkspaceProtection.DEFAULT);
    }

    /** A plain directory bound at {@code /workspace}. */
    public SandboxSpec(String project, Path workspace, Resources resources, GatewayPorts gateway) {
        this(project, workspace, resources, gateway, Optional.empty());
    }

    /** This spec with {@code p} as what of the workspace stays read-only. */
    public SandboxSpec withProtection(WorkspaceProtection p) {
        return new SandboxSpec(project, workspace, resources, gateway, template, p, trust, image, layer);
    }

    /** This spec with {@code t} as the CAs the sandbox trusts besides the host's system bundle ({@link CaBundle}). */
    public SandboxSpec withTrust(TrustBundle t) {
        return new SandboxSpec(project, workspace, resources, gateway, template, protection, t, image, layer);
    }

    /**
     * This spec on the unpacked image {@code root} ({@link ImageStore.Unpacked#root}): the sandbox's
     * root file system, read-only, instead of the host's /usr.
     */
    public SandboxSpec withImage(Path root) {
        return new SandboxSpec(project, workspace, resources, gateway, template, protection, trust, Optional.of(root), layer);
    }

    /**
     * This spec with {@code l} over its image (docs/images.md, "Setup as root"): a root step's
     * writable layer ({@link RootLayer.Writable}: the command runs as uid 0 of its namespace), or a
     * sealed layer stacked read-only ({@link RootLayer.Stacked}).
     */
    public SandboxSpec withRootLayer(RootLayer l) {
        return new SandboxSpec(project, workspace, resources, gateway, template, protection, trust, image, l);
    }

    /** A copy-on-write overlay over the template tree {@code template}, at {@code /workspace}. */
    public static SandboxSpec overTemplate(String project, Path template, Resources resources, GatewayPorts gateway) {
        return new SandboxSpec(project, template, resources, gateway, Optional.of(template));
    }
}
