package dev.airlock.pool.template;

import java.util.regex.Pattern;

/**
 * What a template is: the commit its tree was checked out at, and the environment hash
 * ({@link EnvHash}) of the setup that ran on it. Two templates with the same id are
 * interchangeable.
 */
public record TemplateId(String commit, String envHash) {

    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}([0-9a-f]{24})?");
    private static final Pattern HASH = Pattern.compile("[0-9a-f]{64}");

    public TemplateId {
        if (commit == null || !COMMIT.matcher(commit).matches()) {
            throw new IllegalArgumentException("not a full git commit id: " + commit);
        }
        if (envHash == null || !HASH.matcher(envHash).matches()) {
            throw new IllegalArgumentException("not a SHA-256 hex digest: " + envHash);
        }
    }

    /** The template's directory name: 12 hex digits of each, which is unique in practice and readable. */
    public String name() {
        return commit.substring(0, 12) + "-" + envHash.substring(0, 12);
    }

    /**
     * The name of the root layer this template's {@code root: true} steps build (docs/images.md,
     * "Setup as root"): the same 24 hex digits as {@link #name}, without the dash.
     */
    public String rootLayer() {
        return commit.substring(0, 12) + envHash.substring(0, 12);
    }

    @Override
    public String toString() {
        return name();
    }
}
