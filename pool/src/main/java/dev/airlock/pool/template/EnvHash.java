package dev.airlock.pool.template;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The environment hash: SHA-256 over everything that decides what {@code workspace.setup}
 * produces, other than the code itself. That is, the content of each {@code cacheKey} file at the
 * template's commit (a missing file is hashed as a marker, distinct from an empty one), the setup
 * commands in order, Airlock's own version, and the project's image digest when it has one.
 *
 * <p>Every field is written with its kind and its length before its bytes, so no two different
 * inputs encode the same: moving text from one command to the next, or from a file name into
 * its content, changes the hash.
 */
final class EnvHash {

    /** One {@code cacheKey} entry: the path as written in airlock.yaml, and its content at the commit (empty: no such file). */
    record CacheFile(String path, Optional<byte[]> content) {
    }

    /** Bumped when the encoding changes, so old and new hashes never collide. */
    private static final String FORMAT = "airlock-env-v1";

    private EnvHash() {
    }

    static String of(List<CacheFile> cacheKey, List<String> setup, String airlockVersion) {
        return of(cacheKey, setup, airlockVersion, Optional.empty());
    }

    /**
     * As above, with the manifest digest of the project's {@code image:} (docs/images.md) last,
     * when it has one: a new image digest is a new environment, so the template rebuilds and the
     * warm pool rotates as on a new HEAD. Without an image the hash is exactly the one before images.
     */
    static String of(List<CacheFile> cacheKey, List<String> setup, String airlockVersion, Optional<String> imageDigest) {
        MessageDigest d;
        try {
            d = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
        field(d, "format", FORMAT.getBytes(StandardCharsets.UTF_8));
        field(d, "version", airlockVersion.getBytes(StandardCharsets.UTF_8));
        field(d, "cacheKeys", Integer.toString(cacheKey.size()).getBytes(StandardCharsets.UTF_8));
        for (CacheFile f : cacheKey) {
            field(d, "path", f.path().getBytes(StandardCharsets.UTF_8));
            if (f.content().isPresent()) {
                field(d, "content", f.content().get());
            } else {
                field(d, "missing", new byte[0]);
            }
        }
        field(d, "setup", Integer.toString(setup.size()).getBytes(StandardCharsets.UTF_8));
        for (String s : setup) {
            field(d, "command", s.getBytes(StandardCharsets.UTF_8));
        }
        if (imageDigest.isPresent()) {
            field(d, "image", imageDigest.get().getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(d.digest());
    }

    private static void field(MessageDigest d, String kind, byte[] value) {
        d.update(kind.getBytes(StandardCharsets.US_ASCII));
        d.update((byte) 0);
        d.update(Long.toString(value.length).getBytes(StandardCharsets.US_ASCII));
        d.update((byte) 0);
        d.update(value);
    }
}
