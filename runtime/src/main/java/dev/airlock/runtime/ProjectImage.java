package dev.airlock.runtime;

import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.sandbox.ImageStore;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A project's {@code image:} (docs/images.md), unpacked into the launcher's image store: the root
 * its sandboxes run on. A relative {@code oci} path is relative to the policy file's directory, as
 * the project wrote it beside its {@code airlock.yaml}. Errors name where {@code image:} was written.
 */
public final class ProjectImage {

    private ProjectImage() {
    }

    /** The project's image in {@code launcher}'s store (unpacked now if it is not yet); empty without {@code image:}. */
    public static Optional<ImageStore.Unpacked> unpack(SandboxLauncher launcher, ProjectPolicy project) throws SandboxException {
        if (project.image().isEmpty()) {
            return Optional.empty();
        }
        ProjectPolicy.Image image = project.image().get();
        Path source = source(project.file(), image.oci());
        try {
            return Optional.of(launcher.images().unpack(source, image.tag(), image.digest()));
        } catch (SandboxException e) {
            throw new SandboxException(image.position() + ": image: " + e.getMessage(), e);
        }
    }

    /** The root of the project's image in {@code launcher}'s store, as {@link #unpack} makes it; empty without {@code image:}. */
    public static Optional<Path> root(SandboxLauncher launcher, ProjectPolicy project) throws SandboxException {
        return unpack(launcher, project).map(ImageStore.Unpacked::root);
    }

    /**
     * The manifest digest of the project's image, read from the layout's index (nothing is
     * unpacked); empty without {@code image:}. A template's id includes it (docs/images.md).
     */
    public static Optional<String> digest(ProjectPolicy project) throws SandboxException {
        if (project.image().isEmpty()) {
            return Optional.empty();
        }
        ProjectPolicy.Image image = project.image().get();
        try {
            return Optional.of(ImageStore.manifestDigest(source(project.file(), image.oci()), image.tag(), image.digest()));
        } catch (SandboxException e) {
            throw new SandboxException(image.position() + ": image: " + e.getMessage(), e);
        }
    }

    /** {@code oci} as written, relative to the directory of {@code policyFile}. */
    static Path source(String policyFile, String oci) {
        Path dir = Path.of(policyFile).toAbsolutePath().normalize().getParent();
        return dir.resolve(oci).normalize();
    }
}
