package dev.airlock.runtime;

import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.sandbox.DevcontainerBuilds;
import dev.airlock.sandbox.DevcontainerFile;
import dev.airlock.sandbox.ImageStore;
import dev.airlock.sandbox.RegistryImages;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A project's {@code image:} (docs/images.md), unpacked into the launcher's image store: the root
 * its sandboxes run on. An OCI layout is unpacked from where it is; a registry reference (written
 * as {@code ref:} or as a devcontainer's {@code image}) is pulled by digest with skopeo into a
 * temporary layout first, and a devcontainer's Dockerfile is built with buildah into one; the store
 * then verifies every blob of that layout against the digest as for any layout. A relative path is
 * relative to the policy file's directory. Errors name where {@code image:} was written.
 */
public final class ProjectImage {

    private ProjectImage() {
    }

    /** The project's image in {@code launcher}'s store (pulled, built or unpacked now if it is not yet); empty without {@code image:}. */
    public static Optional<ImageStore.Unpacked> unpack(SandboxLauncher launcher, ProjectPolicy project) throws SandboxException {
        if (project.image().isEmpty()) {
            return Optional.empty();
        }
        ProjectPolicy.Image image = project.image().get();
        try {
            return Optional.of(switch (resolve(project)) {
                case Layout l -> launcher.images().unpack(l.path(), image.tag(), image.digest());
                case Pull p -> pulled(launcher.images(), p, image.digest());
                case Built b -> built(launcher.images(), b, image.digest());
            });
        } catch (SandboxException e) {
            throw new SandboxException(image.position() + ": image: " + e.getMessage(), e);
        }
    }

    /** The root of the project's image in {@code launcher}'s store, as {@link #unpack} makes it; empty without {@code image:}. */
    public static Optional<Path> root(SandboxLauncher launcher, ProjectPolicy project) throws SandboxException {
        return unpack(launcher, project).map(ImageStore.Unpacked::root);
    }

    /**
     * The manifest digest of the project's image, without unpacking: read from a layout's index,
     * the reference's pin, or the registry's manifest for a tag (one small request); empty without
     * {@code image:}. A template's id includes it (docs/images.md). A devcontainer's Dockerfile has
     * no digest until it is built, so asking builds it (buildah's layer cache makes a rebuild cheap).
     */
    public static Optional<String> digest(ProjectPolicy project) throws SandboxException {
        if (project.image().isEmpty()) {
            return Optional.empty();
        }
        ProjectPolicy.Image image = project.image().get();
        try {
            return Optional.of(switch (resolve(project)) {
                case Layout l -> ImageStore.manifestDigest(l.path(), image.tag(), image.digest());
                case Pull p -> pinned(RegistryImages.digest(p.ref(), p.insecure()), image.digest(), p.ref());
                case Built b -> {
                    Path layout = Files.createTempDirectory("alk-image-");
                    try {
                        DevcontainerBuilds.build(b.build(), layout);
                        yield ImageStore.manifestDigest(layout, Optional.of(DevcontainerBuilds.BUILT_TAG), image.digest());
                    } finally {
                        delete(layout);
                    }
                }
            });
        } catch (SandboxException e) {
            throw new SandboxException(image.position() + ": image: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new SandboxException(image.position() + ": image: cannot make a temporary directory: " + e + ". Fix: check /tmp.", e);
        }
    }

    /**
     * The manifest digest the project's files alone determine, asking no registry and building
     * nothing: an OCI layout's (read from its index), a reference's {@code @sha256:} pin, or
     * {@code image.digest}; empty for an unpinned registry tag or Dockerfile, whose digest is only
     * known at run time. For outputs that must be the same bytes for the same files ({@code policy export}).
     */
    public static Optional<String> knownDigest(ProjectPolicy project) throws SandboxException {
        if (project.image().isEmpty()) {
            return Optional.empty();
        }
        ProjectPolicy.Image image = project.image().get();
        if (image.source() instanceof ProjectPolicy.Oci) {
            return digest(project);
        }
        if (image.source() instanceof ProjectPolicy.Registry r) {
            Optional<String> pin = dev.airlock.policy.model.ImageReference.parse(r.ref()).flatMap(dev.airlock.policy.model.ImageReference::digest);
            if (pin.isPresent()) {
                return Optional.of(pinned(pin.get(), image.digest(), r.ref()));
            }
        }
        return image.digest();
    }

    /** Where the image's OCI layout comes from, once {@code image:} and any devcontainer.json are read. */
    private sealed interface Resolved {
    }

    private record Layout(Path path) implements Resolved {
    }

    private record Pull(String ref, boolean insecure) implements Resolved {
    }

    private record Built(DevcontainerFile.Build build) implements Resolved {
    }

    private static Resolved resolve(ProjectPolicy project) throws SandboxException {
        return switch (project.image().orElseThrow().source()) {
            case ProjectPolicy.Oci o -> new Layout(source(project.file(), o.path()));
            case ProjectPolicy.Registry r -> new Pull(r.ref(), r.insecure());
            case ProjectPolicy.Devcontainer d -> switch (DevcontainerFile.read(source(project.file(), d.path()))) {
                case DevcontainerFile.Pull p -> new Pull(p.ref(), d.insecure());
                case DevcontainerFile.Build b -> new Built(b);
            };
        };
    }

    /** The registry image, from the store when its digest is there, else pulled by digest and unpacked. */
    private static ImageStore.Unpacked pulled(ImageStore store, Pull p, Optional<String> pin) throws SandboxException {
        String digest = pinned(RegistryImages.digest(p.ref(), p.insecure()), pin, p.ref());
        Optional<ImageStore.Unpacked> have = store.find(digest);
        if (have.isPresent()) {
            return have.get();
        }
        Path layout = temporary();
        try {
            RegistryImages.pull(p.ref(), p.insecure(), digest, layout);
            return store.unpack(layout, Optional.of(RegistryImages.PULLED_TAG), Optional.of(digest));
        } finally {
            delete(layout);
        }
    }

    private static ImageStore.Unpacked built(ImageStore store, Built b, Optional<String> pin) throws SandboxException {
        Path layout = temporary();
        try {
            DevcontainerBuilds.build(b.build(), layout);
            return store.unpack(layout, Optional.of(DevcontainerBuilds.BUILT_TAG), pin);
        } finally {
            delete(layout);
        }
    }

    private static String pinned(String digest, Optional<String> pin, String ref) throws SandboxException {
        if (pin.isPresent() && !pin.get().equals(digest)) {
            throw new SandboxException("image " + ref + " is " + digest + ", but image.digest pins " + pin.get()
                    + ". Fix: pin the reference to the image you checked (ref: NAME@" + pin.get() + "), or update image.digest after checking the new one.");
        }
        return digest;
    }

    /** A new directory of root's (0700) for a pulled or built layout, removed after the store copied it. */
    private static Path temporary() throws SandboxException {
        try {
            return Files.createTempDirectory("alk-image-");
        } catch (IOException e) {
            throw new SandboxException("cannot make a temporary directory for the image: " + e + ". Fix: check /tmp.", e);
        }
    }

    /** Removes a temporary layout this class made (skopeo and buildah write plain files there; no link is followed). */
    private static void delete(Path dir) {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // a leftover alk-image-* in /tmp is only disk; the store never reads it again
        }
    }

    /** {@code path} as written, relative to the directory of {@code policyFile}. */
    static Path source(String policyFile, String path) {
        Path dir = Path.of(policyFile).toAbsolutePath().normalize().getParent();
        return dir.resolve(path).normalize();
    }
}
