package dev.airlock.runtime;

import dev.airlock.sandbox.RootLayer;
import java.nio.file.Path;

/**
 * A template's root layer as the modules above the runtime name it (docs/images.md, "Setup as
 * root"): layer {@code name} of the project's image, {@code writable} for a {@code root: true}
 * setup step (which then runs as root of its user namespace), read-only and sealed otherwise.
 */
public record TemplateLayer(String name, boolean writable) {

    public TemplateLayer {
        if (name == null || !RootLayer.NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a root layer's name is " + RootLayer.NAME.pattern() + ", not " + name);
        }
    }

    /** The sandbox's view of it. */
    RootLayer toSandbox() {
        return writable ? new RootLayer.Writable(name) : new RootLayer.Stacked(name);
    }

    /** What {@code layer} asks of the sandbox: nothing when absent. */
    static RootLayer of(java.util.Optional<TemplateLayer> layer) {
        return layer.map(TemplateLayer::toSandbox).orElse(RootLayer.NONE);
    }

    /** Where layer {@code name} of {@code project} lives in the state directory {@code state} (removed with its template). */
    public static Path directory(Path state, String project, String name) {
        return RootLayer.directory(state, project, name);
    }
}
