package dev.airlock.pool.template;

import java.nio.file.Path;
import java.util.Optional;

/** How a template build ended. */
public sealed interface BuildResult {

    /** The project's current template is {@code template}; {@code reused} when one with its id already existed. */
    record Built(Template template, boolean reused) implements BuildResult {
    }

    /**
     * A setup command failed (exit {@code exitCode}). Nothing was switched: {@code kept} is the
     * last good template, still current. {@code log} is the full setup log, {@code tail} its end.
     */
    record Failed(TemplateId attempted, int exitCode, Path log, String tail, Optional<Template> kept) implements BuildResult {
    }
}
