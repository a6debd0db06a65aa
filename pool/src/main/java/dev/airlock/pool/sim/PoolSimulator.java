package dev.airlock.pool.sim;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Replays claims against a pool that keeps a sizing policy's size, as the daemon does, and measures
 * the warm hit rate and the idle cost.
 *
 * <p>The pool model (docs/pool-sizing.md): the pool keeps S members, each ready or refilling. A claim
 * that finds a ready member takes it (warm) and a refill starts at once, taking a time drawn from the
 * refill distribution. A claim that finds none is a cold start: it builds its own sandbox and the pool
 * is untouched. A released sandbox is destroyed, never returned. When the size grows, refills start;
 * when it shrinks, ready members are destroyed first, then the refills that would finish last are
 * cancelled. The pool starts full at the first claim.
 *
 * <p>Discrete-event and single-threaded: the same claims, policy, distributions and seed give the same
 * report, bit for bit. Events at the same instant run in a fixed order: refills that complete at the
 * instant of a claim complete first.
 */
public final class PoolSimulator {

    /** A varying policy is re-read this often, as the daemon's reconcile loop would. */
    static final Duration TICK = Duration.ofMinutes(1);

    private PoolSimulator() {
    }

    /**
     * Runs the replay. {@code hold} replaces each claim's own hold time when present.
     *
     * @throws IllegalArgumentException when there are no claims or they are not in time order
     */
    public static SimulationReport run(List<TraceClaim> claims, SizingPolicy policy, Distribution refill,
            Optional<Distribution> hold, long seed) {
        if (claims.isEmpty()) {
            throw new IllegalArgumentException("there are no claims to replay");
        }
        for (int i = 1; i < claims.size(); i++) {
            if (claims.get(i).time().isBefore(claims.get(i - 1).time())) {
                throw new IllegalArgumentException("claims are not in time order at index " + i);
            }
        }
        return new Run(claims, policy, refill, hold, seed).replay();
    }

    private static final class Refill {
        final double done;
        final long seq;
        boolean cancelled;

        Refill(double done, long seq) {
            this.done = done;
            this.seq = seq;
        }
    }

    private enum Kind { REFILL_DONE, RELEASE, TICK }

    private record Event(double time, long seq, Kind kind, Refill refill) {
    }

    private static final class Run {
        private final List<TraceClaim> claims;
        private final SizingPolicy policy;
        private final Distribution refillTime;
        private final Optional<Distribution> hold;
        private final SplittableRandom random;
        private final Instant origin;
        private final double end;
        private final PriorityQueue<Event> events = new PriorityQueue<>(
                Comparator.comparingDouble(Event::time).thenComparingLong(Event::seq));
        /** Refills in progress, the one finishing last at the end (cancelled first when the size drops). */
        private final TreeSet<Refill> warming = new TreeSet<>(
                Comparator.comparingDouble((Refill r) -> r.done).thenComparingLong(r -> r.seq));
        private long seq;
        private double now;
        private int target;
        private int ready;
        private int inUse;
        private int peakInUse;
        private long warm;
        private long cold;
        private long refills;
        private double idleSeconds;
        private double warmingSeconds;
        private double inUseSeconds;

        Run(List<TraceClaim> claims, SizingPolicy policy, Distribution refillTime, Optional<Distribution> hold, long seed) {
            this.claims = claims;
            this.policy = policy;
            this.refillTime = refillTime;
            this.hold = hold;
            this.random = new SplittableRandom(seed);
            this.origin = claims.getFirst().time();
            this.end = seconds(claims.getLast().time());
        }

        SimulationReport replay() {
            target = policy.sizeAt(origin);
            ready = target;
            if (policy.varies()) {
                Instant firstTick = origin.truncatedTo(ChronoUnit.MINUTES).plus(TICK);
                push(seconds(firstTick), Kind.TICK, null);
            }
            int next = 0;
            while (next < claims.size()) {
                double arrival = seconds(claims.get(next).time());
                Event head = events.peek();
                if (head != null && head.time() <= arrival) {
                    events.poll();
                    advance(head.time());
                    handle(head);
                } else {
                    advance(arrival);
                    claim(claims.get(next));
                    next++;
                }
            }
            return new SimulationReport(claims.size(), warm, cold, end / 3600, idleSeconds / 3600, warmingSeconds / 3600,
                    inUseSeconds / 3600, peakInUse, refills);
        }

        private void advance(double to) {
            double dt = to - now;
            idleSeconds += ready * dt;
            warmingSeconds += warming.size() * dt;
            inUseSeconds += inUse * dt;
            now = to;
        }

        private void handle(Event e) {
            switch (e.kind()) {
                case REFILL_DONE -> {
                    if (!e.refill().cancelled) {
                        warming.remove(e.refill());
                        ready++;
                    }
                }
                case RELEASE -> inUse--;
                case TICK -> {
                    resize(policy.sizeAt(instant(now)));
                    push(now + TICK.toSeconds(), Kind.TICK, null);
                }
            }
        }

        private void claim(TraceClaim c) {
            if (ready > 0) {
                ready--;
                warm++;
                fill();
            } else {
                cold++;
            }
            inUse++;
            peakInUse = Math.max(peakInUse, inUse);
            double held = hold.map(d -> d.sampleSeconds(random)).orElse(c.hold().toNanos() / 1e9);
            push(now + held, Kind.RELEASE, null);
        }

        private void resize(int size) {
            target = size;
            int excess = ready + warming.size() - target;
            int destroyed = Math.min(Math.max(excess, 0), ready);
            ready -= destroyed;
            excess -= destroyed;
            while (excess > 0) {
                warming.pollLast().cancelled = true;
                excess--;
            }
            fill();
        }

        /** Starts refills until ready plus refilling members reach the target. */
        private void fill() {
            while (ready + warming.size() < target) {
                Refill r = new Refill(now + refillTime.sampleSeconds(random), seq++);
                warming.add(r);
                refills++;
                push(r.done, Kind.REFILL_DONE, r);
            }
        }

        private void push(double time, Kind kind, Refill refill) {
            events.add(new Event(time, seq++, kind, refill));
        }

        private double seconds(Instant t) {
            return Duration.between(origin, t).toNanos() / 1e9;
        }

        private Instant instant(double s) {
            return origin.plusNanos(Math.round(s * 1e9));
        }
    }
}
