package dev.airlock.sandbox;

import java.util.regex.Pattern;

/**
 * What lies over a sandbox's image root (docs/images.md, "Setup as root"): nothing, the writable
 * overlay a {@code root: true} setup step installs into, or a sealed layer stacked read-only over
 * the image. A layer is named by {@link #NAME} and lives under its project's templates
 * ({@link RootLayers}); only the image's sandboxes of that project ever mount it.
 */
public sealed interface RootLayer {

    /** A layer's name: lower-case hex, 8 to 64 digits (a template build's id, or a random one). */
    Pattern NAME = Pattern.compile("[0-9a-f]{8,64}");

    /** The image as unpacked, read-only: no layer. */
    record None() implements RootLayer {
    }

    /**
     * The image under layer {@code name}'s upper directory, writable, for a setup step that runs as
     * uid 0 of the sandbox's user namespace (the sandbox user on the host). Never for any other command.
     */
    record Writable(String name) implements RootLayer {
    }

    /** The sealed layer {@code name} over the image, read-only: members and later steps of the template. */
    record Stacked(String name) implements RootLayer {
    }

    RootLayer NONE = new None();

    /**
     * The directory of layer {@code name} of {@code project} in the state directory {@code state}
     * ({@code <state>/templates/<project>/root-<name>}): what a template's garbage collection removes
     * with the template ({@link KernelOp.DeleteTree}).
     */
    static java.nio.file.Path directory(java.nio.file.Path state, String project, String name) {
        return RootLayers.dir(state, project, name);
    }
}
