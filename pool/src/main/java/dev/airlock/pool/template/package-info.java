/**
 * Templates at HEAD: per project, a mirror of the workspace's {@code source}, a tree checked out at
 * the tracked branch's HEAD with {@code workspace.setup} run once inside a sandbox, identified by
 * (commit, environment hash); the current template per project, switched atomically only after a
 * successful setup; freshness (catch-up at claim, or rebuild) and garbage collection. See
 * docs/templates.md.
 *
 * <p>Entry point: {@link dev.airlock.pool.template.TemplateManager}.
 */
package dev.airlock.pool.template;
