package dev.airlock.pool.template;

import java.nio.file.Path;
import java.time.Instant;

/**
 * A built template: its id, the tracked branch, the tree that sandboxes mount as the lower layer
 * of their copy-on-write workspace, and the setup log kept beside it.
 */
public record Template(String project, TemplateId id, String ref, Path tree, Path log, Instant built) {
}
