package dev.airlock.pool.state;

import dev.airlock.pool.usage.ClaimRecord;
import dev.airlock.pool.usage.Retention;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's crash case for real: a JVM that wrote claims is killed with SIGKILL in the middle of a
 * transaction, and the next open sees exactly the committed claims.
 */
class StateDatabaseKillTest {

    @TempDir
    Path dir;

    @Test
    void open_afterKill9MidTransaction_hasExactlyTheCommittedClaims() throws Exception {
        Path db = dir.resolve("airlock.db");
        Process child = new ProcessBuilder(javaBinary(), "-cp", classPath(), StateDatabaseKillChild.class.getName(), db.toString(), "25")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(out.readLine()).as("the child wrote its claims and holds a transaction open").isEqualTo("ready");
            child.destroyForcibly(); // SIGKILL on Linux: no shutdown hooks, no close()
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }
        assertThat(child.exitValue()).as("killed by signal 9").isEqualTo(128 + 9);
        assertThat(Files.exists(dir.resolve("airlock.db-wal"))).as("the unclean exit left the write-ahead log behind").isTrue();

        try (StateDatabase store = StateDatabase.open(db)) {
            assertThat(store.query("payments", Instant.EPOCH))
                    .hasSize(25)
                    .allMatch(r -> r.result() == ClaimRecord.Result.WARM, "the uncommitted cold claim is gone");
            store.append(ClaimRecord.failed("payments", Instant.parse("2026-11-27T13:00:00Z"), java.time.Duration.ZERO));
            assertThat(store.query("payments", Instant.EPOCH)).hasSize(26);
        }
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /** The child needs the test classes, the pool classes and the SQLite driver, wherever the build put them. */
    private static String classPath() throws Exception {
        Set<String> entries = new LinkedHashSet<>();
        for (Class<?> c : new Class<?>[] {StateDatabaseKillChild.class, StateDatabase.class, org.sqlite.JDBC.class}) {
            entries.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
        }
        return String.join(java.io.File.pathSeparator, entries);
    }
}
