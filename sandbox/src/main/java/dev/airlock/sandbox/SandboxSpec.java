package dev.airlock.sandbox;

import java.nio.file.Path;
import java.util.Objects;

/**
 * What to build: the project (for records and the audit trail), the host directory bound
 * read-write at {@code /workspace}, the cgroup limits and the gateway's ports.
 */
public record SandboxSpec(String project, Path workspace, Resources resources, GatewayPorts gateway) {

    public SandboxSpec {
        Objects.requireNonNull(project, "project");
        Objects.requireNonNull(workspace, "workspace");
        Objects.requireNonNull(resources, "resources");
        Objects.requireNonNull(gateway, "gateway");
    }
}
