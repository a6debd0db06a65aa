package dev.airlock.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The cluster daemon's policy files, followed as the local daemon follows them ({@link PolicyReloads#POLL}):
 * each project's {@code airlock.yaml} and the organisation policy are compared by digest at every
 * {@link #check}; a change calls {@link Reload} for the project. A reload that fails keeps the old
 * policy in force (the backend guarantees it) and its problem is in {@link #problem} until one succeeds.
 */
final class ClusterPolicyWatch {

    /** Re-applies one project's policy; its message names file:line:col and the fix. */
    @FunctionalInterface
    interface Reload {
        void reload(String project) throws Exception;
    }

    private final Map<String, Path> files;
    private final Optional<Path> org;
    private final Reload reload;
    private final Map<String, String> seen = new ConcurrentHashMap<>();
    private final Map<String, String> problems = new ConcurrentHashMap<>();
    private final Map<String, Long> applied = new ConcurrentHashMap<>();

    /** {@code files}: each project's policy file, as the backend loaded it (their digests now are the baseline). */
    ClusterPolicyWatch(Map<String, Path> files, Optional<Path> org, Reload reload) {
        this.files = Map.copyOf(files);
        this.org = org;
        this.reload = reload;
        files.forEach((project, file) -> seen.put(project, digest(file)));
    }

    /** Compares every file with what was last seen and reloads the projects whose files changed. */
    void check() {
        files.forEach((project, file) -> {
            String now = digest(file);
            if (now.equals(seen.get(project))) {
                return;
            }
            seen.put(project, now);
            try {
                reload.reload(project);
                problems.remove(project);
                applied.merge(project, 1L, Long::sum);
            } catch (Exception e) {
                problems.put(project, String.valueOf(e.getMessage()));
            }
        });
    }

    /** Why {@code project}'s last change was not applied (its old policy is in force), if it was not. */
    Optional<String> problem(String project) {
        return Optional.ofNullable(problems.get(project));
    }

    /** How many changes of {@code project}'s policy were put in force. */
    long applied(String project) {
        return applied.getOrDefault(project, 0L);
    }

    /** A digest of the project's file and the org's, so an edit of either is seen; an unreadable file has its own. */
    private String digest(Path file) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Path p : org.isPresent() ? java.util.List.of(file, org.get()) : java.util.List.of(file)) {
                try {
                    sha.update(Files.readAllBytes(p));
                } catch (IOException e) {
                    sha.update(("unreadable " + e.getMessage()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                }
                sha.update((byte) 0);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
