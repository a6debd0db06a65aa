package dev.airlock.server;

import dev.airlock.pool.usage.ClaimRecord;
import dev.airlock.pool.state.StateDatabaseException;
import dev.airlock.pool.state.UsageHistory;
import dev.airlock.pool.warm.PoolListener;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Records every claim in the usage history (the sizing's input) and passes it on to the metrics.
 * Appends run on one background thread, in order, so a claim never waits for the database.
 */
final class UsageRecorder implements PoolListener, AutoCloseable {

    private final UsageHistory store;
    private final PoolListener next;
    private final Clock clock;
    private final PrintStream log;
    private final ExecutorService writer = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name("airlock-usage").factory());

    UsageRecorder(UsageHistory store, PoolListener next, Clock clock, PrintStream log) {
        this.store = store;
        this.next = next;
        this.clock = clock;
        this.log = log;
    }

    @Override
    public void claimed(String project, Result result, Duration took, Duration age, Duration built) {
        next.claimed(project, result, took, age, built);
        ClaimRecord r = switch (result) {
            case WARM -> ClaimRecord.warm(project, clock.instant(), took, built, age);
            case COLD -> ClaimRecord.cold(project, clock.instant(), took, built);
            case FAILED -> ClaimRecord.failed(project, clock.instant(), took);
        };
        writer.execute(() -> {
            try {
                store.append(r);
            } catch (StateDatabaseException e) {
                log.println("airlock daemon: cannot record a claim in the usage history: " + e.getMessage());
            }
        });
    }

    @Override
    public void refilled(String project, Duration took) {
        next.refilled(project, took);
    }

    @Override
    public void refillFailed(String project, Throwable error) {
        next.refillFailed(project, error);
    }

    @Override
    public void memberDied(String project, dev.airlock.pool.warm.MemberDeath death) {
        next.memberDied(project, death);
        log.println("airlock daemon: a ready sandbox of " + project + " died (" + death.reason() + "): " + death.detail()
                + "; it left the pool and is replaced");
    }

    /** Writes what is queued, then stops. */
    @Override
    public void close() {
        writer.shutdown();
        try {
            writer.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
