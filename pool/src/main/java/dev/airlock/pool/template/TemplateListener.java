package dev.airlock.pool.template;

/**
 * Told when a project's current template changes (after a successful build switched it). The warm
 * pool rotates its idle members when the id differs from the one they were prepared with.
 * Called on the building thread; keep it short.
 */
@FunctionalInterface
public interface TemplateListener {

    void currentChanged(String project, Template current);
}
