package dev.airlock.sandbox;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A devcontainer's {@code build.dockerfile} built with buildah into an OCI layout (docs/images.md),
 * which {@link ImageStore#unpack} then verifies and unpacks like any layout. Without buildah the
 * error names the package. The build itself (its {@code FROM} pulls, its {@code RUN} steps) runs
 * on the host's network, as the project's own {@code docker build} would: it is the image's
 * author's code, not the agent's, and the agent only ever runs on the result.
 */
public final class DevcontainerBuilds {

    /** The tag the built image gets in its layout, for {@link ImageStore#unpack}. */
    public static final String BUILT_TAG = "built";
    private static final Duration BUILD_LIMIT = Duration.ofMinutes(30);
    private static final String INSTALL = "apt-get install buildah (or build the image elsewhere, push it, and write \"image\": \"REF\" in the"
            + " devcontainer.json)";

    private DevcontainerBuilds() {
    }

    /** Whether buildah is installed where root's tools are. */
    public static boolean available() {
        return ImageTool.find("buildah").isPresent();
    }

    /** Builds {@code build} into the new OCI layout directory {@code layout}, tagged {@link #BUILT_TAG}. */
    public static void build(DevcontainerFile.Build build, Path layout) throws SandboxException {
        if (!Files.isRegularFile(build.dockerfile(), LinkOption.NOFOLLOW_LINKS) || !Files.isDirectory(build.context(), LinkOption.NOFOLLOW_LINKS)) {
            throw new SandboxException("devcontainer build: " + build.dockerfile() + " is not a file or " + build.context() + " is not a directory."
                    + " Fix: build.dockerfile and build.context are relative to the devcontainer.json's directory.");
        }
        String name = "localhost/airlock-devcontainer:" + RegistryImages.sha256((build.dockerfile() + "\0" + build.context())
                .getBytes(java.nio.charset.StandardCharsets.UTF_8)).substring(0, 16);
        ImageTool.run("buildah", List.of("bud", "--isolation", "chroot", "--format", "oci", "--layers", "-f", build.dockerfile().toString(),
                "-t", name, build.context().toString()), BUILD_LIMIT, INSTALL, "cannot build " + build.dockerfile());
        ImageTool.run("buildah", List.of("push", "--quiet", name, "oci:" + layout + ":" + BUILT_TAG), BUILD_LIMIT, INSTALL,
                "cannot copy the built image " + name + " to a layout");
    }
}
