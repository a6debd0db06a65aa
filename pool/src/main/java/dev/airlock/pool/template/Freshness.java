package dev.airlock.pool.template;

import java.util.Optional;

/**
 * How a project's current template compares with the tracked branch's HEAD in its mirror, and
 * what to do about it (docs/templates.md, "Freshness").
 */
public sealed interface Freshness {

    /** The template is at HEAD with the right environment. */
    record UpToDate(Template current) implements Freshness {
    }

    /**
     * The branch moved {@code behind} commits ahead of the template, and the environment hash is
     * unchanged: a claim catches up ({@link TemplateManager#catchUp}), and a background rebuild
     * may follow.
     */
    record Moved(Template current, String head, int behind) implements Freshness {
    }

    /**
     * The environment hash at HEAD differs from the template's (a cacheKey file or the setup
     * changed, or Airlock's version), or there is no template yet: the template must be rebuilt,
     * and idle pool members rotate once it is current.
     */
    record Rebuild(Optional<Template> current, String head, String envHash) implements Freshness {
    }
}
