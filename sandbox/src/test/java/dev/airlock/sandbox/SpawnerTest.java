package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The parent-death signal follows the thread that forked (prctl(2)): a process started through
 * {@link Spawner} outlives the thread that asked for it; one forked by that thread itself does not.
 * No root needed: {@code setpriv --pdeathsig} is unprivileged.
 */
class SpawnerTest {

    /** Says "armed" once its parent-death signal is set, then sleeps. */
    static ProcessBuilder sleeperWithPdeathsig() {
        return new ProcessBuilder("setpriv", "--pdeathsig", "KILL", "--", "sh", "-c", "echo armed; exec sleep 60");
    }

    /** Starts a process from a thread that then ends, and returns the process. */
    static Process startFromAThreadThatEnds(boolean throughSpawner) throws Exception {
        AtomicReference<Process> p = new AtomicReference<>();
        AtomicReference<Exception> failed = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                Process started = throughSpawner ? Spawner.start(sleeperWithPdeathsig()) : sleeperWithPdeathsig().start();
                // the thread ends only once the child's signal is armed (else the child may be
                // reparented to another thread of this JVM first, and the control would prove nothing)
                new java.io.BufferedReader(new java.io.InputStreamReader(started.getInputStream())).readLine();
                p.set(started);
            } catch (Exception e) {
                failed.set(e);
            }
        });
        t.join();
        if (failed.get() != null) {
            throw failed.get();
        }
        return p.get();
    }

    @Test
    void start_outlivesTheThreadThatAskedForIt() throws Exception {
        Process viaSpawner = startFromAThreadThatEnds(true);
        Process direct = startFromAThreadThatEnds(false);
        try {
            // positive control: forked by the ended thread itself, the pdeathsig fires (the bug of issue 17)
            assertThat(direct.waitFor(10, TimeUnit.SECONDS)).as("a child of an ended thread").isTrue();
            assertThat(direct.exitValue()).isEqualTo(128 + 9);
            assertThat(viaSpawner.waitFor(1, TimeUnit.SECONDS)).as("a child of the spawner thread").isFalse();
            assertThat(viaSpawner.isAlive()).isTrue();
            assertThat(Spawner.thread().isAlive()).isTrue();
        } finally {
            viaSpawner.destroyForcibly();
            direct.destroyForcibly();
        }
    }

    @Test
    void start_ofAMissingProgram_throwsTheIOException() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Spawner.start(new ProcessBuilder("/nonexistent/airlock-test")))
                .isInstanceOf(java.io.IOException.class);
        assertThat(Spawner.thread().isAlive()).isTrue();
    }
}
