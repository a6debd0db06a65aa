package dev.airlock.server;

import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The parsed policies of the daemon's runs of policies it does not pool ({@link ColdRuns}): a file
 * is read at every run, and parsed again unless its content (SHA-256), its modification time and the
 * parse's age (under {@link #MAX_AGE}) all match what was parsed before. What the parse depends on
 * besides the text (whether a {@code trust:} CA is in force now) is why an entry ages out.
 */
final class ColdPolicies {

    /** How long a parse is reused at most: a CA of {@code trust:} comes into or goes out of force on the clock. */
    static final Duration MAX_AGE = Duration.ofMinutes(1);
    /** Enough for every project a host runs; the least recently used entry goes first. */
    private static final int MAX_ENTRIES = 64;

    private record Parsed<T>(String sha256, FileTime modified, Instant parsed, T value) {
    }

    @FunctionalInterface
    private interface Parser<T> {
        T parse(String file, String text) throws PolicyException;
    }

    private final Clock clock;
    private final Map<Path, Parsed<ProjectPolicy>> projects = lru();
    private final Map<Path, Parsed<OrgPolicy>> orgs = lru();
    private long parses;

    ColdPolicies(Clock clock) {
        this.clock = clock;
    }

    private static <T> Map<Path, Parsed<T>> lru() {
        return new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Path, Parsed<T>> eldest) {
                return size() > MAX_ENTRIES;
            }
        };
    }

    /** The project policy in {@code file} as it is now. */
    ProjectPolicy project(Path file) throws PolicyException {
        return load(projects, file, (f, t) -> PolicyFiles.parseProject(f, t, clock));
    }

    /** The organisation policy in {@code file} as it is now; none: {@link OrgPolicy#NONE}. */
    OrgPolicy org(Optional<Path> file) throws PolicyException {
        if (file.isEmpty()) {
            return OrgPolicy.NONE;
        }
        return load(orgs, file.get(), (f, t) -> PolicyFiles.parseOrg(f, t, clock));
    }

    /** How many times a file was parsed (the rest came from the cache). */
    synchronized long parses() {
        return parses;
    }

    private synchronized <T> T load(Map<Path, Parsed<T>> cache, Path file, Parser<T> parser) throws PolicyException {
        FileTime modified;
        try {
            // read before the text: an edit in between changes the time, and the next run parses again
            modified = Files.getLastModifiedTime(file);
        } catch (IOException e) {
            modified = FileTime.fromMillis(0); // readText says what is wrong with the file
        }
        String text = PolicyFiles.readText(file);
        String sha = sha256(text);
        Instant now = clock.instant();
        Parsed<T> e = cache.get(file);
        if (e != null && e.sha256().equals(sha) && e.modified().equals(modified) && now.isBefore(e.parsed().plus(MAX_AGE))) {
            return e.value();
        }
        T value = parser.parse(file.toString(), text);
        parses++;
        cache.put(file, new Parsed<>(sha, modified, now, value));
        return value;
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
