package dev.airlock.gateway.resolve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.policy.address.IpAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The cache against a fake clock and a scripted upstream. No assertion depends on how long
 * anything takes: expiry moves the fake clock, and concurrency is held open with latches.
 */
@Timeout(30)
class CachingResolverTest {

    private static final IpAddress ADDRESS = IpAddress.ipv4(0xC6120001); // 198.18.0.1

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final Upstream upstream = new Upstream();
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void tearDown() {
        upstream.openAll();
        pool.shutdownNow();
    }

    private CachingResolver.Builder cache() {
        return CachingResolver.builder(upstream).ticker(now::get);
    }

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    private static Resolution.Answer answer(long ttlSeconds) {
        return new Resolution.Answer(List.of(ADDRESS), List.of(), Duration.ofSeconds(ttlSeconds));
    }

    private static Resolution.Failure failure(Resolution.Kind kind) {
        return new Resolution.Failure(kind, "scripted " + kind);
    }

    // ---------------------------------------------------------------------------------------------
    // TTLs

    @Test
    void resolve_answer_isServedFromCacheForItsTtl() {
        upstream.script("a.example", answer(60));
        CachingResolver c = cache().build();

        Resolution first = c.resolve("a.example");
        advance(Duration.ofSeconds(59));
        Resolution second = c.resolve("a.example");

        assertThat(second).isSameAs(first);
        assertThat(upstream.calls("a.example")).isEqualTo(1);
        advance(Duration.ofSeconds(1)); // exactly the TTL: expired
        c.resolve("a.example");
        assertThat(upstream.calls("a.example")).isEqualTo(2);
    }

    @Test
    void resolve_ttlZero_isRaisedToMinTtl() {
        upstream.script("zero.example", answer(0));
        CachingResolver c = cache().build();

        c.resolve("zero.example");
        advance(CachingResolver.DEFAULT_MIN_TTL.minusNanos(1));
        c.resolve("zero.example");
        assertThat(upstream.calls("zero.example")).isEqualTo(1);

        advance(Duration.ofNanos(1));
        c.resolve("zero.example");
        assertThat(upstream.calls("zero.example")).isEqualTo(2);
    }

    @Test
    void resolve_dayLongTtl_isCappedAtMaxTtl() {
        upstream.script("long.example", answer(86_400));
        CachingResolver c = cache().build();

        c.resolve("long.example");
        advance(CachingResolver.DEFAULT_MAX_TTL.minusNanos(1));
        c.resolve("long.example");
        assertThat(upstream.calls("long.example")).isEqualTo(1);

        advance(Duration.ofNanos(1));
        c.resolve("long.example");
        assertThat(upstream.calls("long.example")).isEqualTo(2);
    }

    @Test
    void ttlNanos_clampsEveryAnswerIntoTheBounds() {
        CachingResolver c = cache().ttl(Duration.ofSeconds(5), Duration.ofSeconds(300)).build();

        assertThat(c.ttlNanos(answer(0))).isEqualTo(Duration.ofSeconds(5).toNanos());
        assertThat(c.ttlNanos(answer(42))).isEqualTo(Duration.ofSeconds(42).toNanos());
        assertThat(c.ttlNanos(answer(301))).isEqualTo(Duration.ofSeconds(300).toNanos());
        assertThat(c.ttlNanos(new Resolution.Answer(List.of(ADDRESS), List.of(), Duration.ofSeconds(-5))))
                .as("a negative TTL is treated as 0").isEqualTo(Duration.ofSeconds(5).toNanos());
        assertThat(c.ttlNanos(new Resolution.Answer(List.of(ADDRESS), List.of(), Duration.ofSeconds(Long.MAX_VALUE))))
                .as("no overflow").isEqualTo(Duration.ofSeconds(300).toNanos());
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(names = {"NXDOMAIN", "NO_ADDRESS", "TOO_LARGE"})
    void resolve_negativeAnswer_isCachedForTheNegativeTtl(Resolution.Kind kind) {
        upstream.script("neg.example", failure(kind));
        CachingResolver c = cache().build();

        c.resolve("neg.example");
        advance(CachingResolver.DEFAULT_NEGATIVE_TTL.minusNanos(1));
        assertThat(c.resolve("neg.example")).isInstanceOf(Resolution.Failure.class);
        assertThat(upstream.calls("neg.example")).isEqualTo(1);

        advance(Duration.ofNanos(1));
        c.resolve("neg.example");
        assertThat(upstream.calls("neg.example")).isEqualTo(2);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(names = {"SERVFAIL", "TIMEOUT", "ERROR"})
    void resolve_resolverFailure_isCachedOnlyBriefly(Resolution.Kind kind) {
        upstream.script("flaky.example", failure(kind));
        CachingResolver c = cache().build();

        c.resolve("flaky.example");
        advance(CachingResolver.DEFAULT_FAILURE_TTL.minusNanos(1));
        c.resolve("flaky.example");
        assertThat(upstream.calls("flaky.example")).as("not hammered").isEqualTo(1);

        advance(Duration.ofNanos(1));
        upstream.script("flaky.example", answer(60));
        assertThat(c.resolve("flaky.example")).as("recovers").isInstanceOf(Resolution.Answer.class);
        assertThat(upstream.calls("flaky.example")).isEqualTo(2);
    }

    @Test
    void resolve_zeroFailureTtl_cachesNoFailure() {
        upstream.script("flaky.example", failure(Resolution.Kind.SERVFAIL));
        CachingResolver c = cache().failureTtl(Duration.ZERO).build();

        c.resolve("flaky.example");
        c.resolve("flaky.example");

        assertThat(upstream.calls("flaky.example")).isEqualTo(2);
    }

    @Test
    void resolve_cachedAnswer_isTheSameResolutionObject_soCallersDialWhatTheyChecked() {
        upstream.script("a.example", answer(60));
        CachingResolver c = cache().build();

        Resolution checked = c.resolve("a.example");
        upstream.script("a.example", new Resolution.Answer(List.of(IpAddress.ipv4(0x7F000001)), List.of(), Duration.ZERO));
        advance(Duration.ofSeconds(61));
        Resolution later = c.resolve("a.example");

        // The new answer reaches new callers; the earlier caller still holds its own, unchanged.
        assertThat(((Resolution.Answer) later).addresses()).containsExactly(IpAddress.ipv4(0x7F000001));
        assertThat(((Resolution.Answer) checked).addresses()).containsExactly(ADDRESS);
    }

    // ---------------------------------------------------------------------------------------------
    // Size

    @Test
    void resolve_beyondMaxEntries_evictsTheOldest() {
        for (String n : List.of("a", "b", "c", "d")) {
            upstream.script(n, answer(60));
        }
        CachingResolver c = cache().maxEntries(3).build();

        c.resolve("a");
        c.resolve("b");
        c.resolve("c");
        c.resolve("d");

        assertThat(c.size()).isEqualTo(3);
        c.resolve("d");
        c.resolve("b");
        assertThat(upstream.calls("d")).as("young entries stay").isEqualTo(1);
        assertThat(upstream.calls("b")).isEqualTo(1);
        c.resolve("a");
        assertThat(upstream.calls("a")).as("the oldest was evicted").isEqualTo(2);
    }

    @Test
    void resolve_refreshedName_movesToTheYoungEnd() {
        for (String n : List.of("a", "b", "c")) {
            upstream.script(n, answer(10));
        }
        CachingResolver c = cache().maxEntries(2).build();

        c.resolve("a");
        c.resolve("b");
        advance(Duration.ofSeconds(10)); // both expire
        c.resolve("a"); // refreshed: now younger than b
        c.resolve("c"); // evicts b, the oldest

        assertThat(c.size()).isEqualTo(2);
        c.resolve("a");
        assertThat(upstream.calls("a")).isEqualTo(2);
    }

    // ---------------------------------------------------------------------------------------------
    // Concurrency

    @Test
    void resolve_concurrentLookupsOfOneName_coalesceIntoOneUpstreamCall() throws Exception {
        upstream.script("busy.example", answer(60));
        upstream.hold("busy.example");
        CachingResolver c = cache().failureTtl(Duration.ZERO).build();

        Future<Resolution> leader = pool.submit(() -> c.resolve("busy.example"));
        upstream.awaitEntered("busy.example", 1);
        List<Future<Resolution>> followers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            followers.add(pool.submit(() -> c.resolve("busy.example")));
        }
        while (c.followers("busy.example") < 8) {
            Thread.onSpinWait(); // every follower has joined the lookup in flight
        }
        upstream.open("busy.example");

        Resolution r = leader.get();
        for (Future<Resolution> f : followers) {
            assertThat(f.get()).isSameAs(r);
        }
        assertThat(upstream.calls("busy.example")).isEqualTo(1);
        assertThat(c.inFlight()).isZero();
    }

    @Test
    void resolve_followerWaitsAtMostTheJoinTimeout() throws Exception {
        upstream.script("stuck.example", answer(60));
        upstream.hold("stuck.example");
        CachingResolver c = cache().joinTimeout(Duration.ZERO).build();

        Future<Resolution> leader = pool.submit(() -> c.resolve("stuck.example"));
        upstream.awaitEntered("stuck.example", 1);

        Resolution follower = c.resolve("stuck.example");

        assertThat(follower).isInstanceOfSatisfying(Resolution.Failure.class,
                f -> assertThat(f.kind()).isEqualTo(Resolution.Kind.TIMEOUT));
        upstream.open("stuck.example");
        assertThat(leader.get()).isInstanceOf(Resolution.Answer.class);
        assertThat(upstream.calls("stuck.example")).isEqualTo(1);
    }

    @Test
    void resolve_moreThanMaxInFlightNames_waitThenTimeOut_andNothingIsCached() throws Exception {
        for (String n : List.of("one", "two", "three")) {
            upstream.script(n, answer(60));
            upstream.hold(n);
        }
        CachingResolver c = cache().maxInFlight(2).acquireTimeout(Duration.ZERO).build();

        Future<Resolution> one = pool.submit(() -> c.resolve("one"));
        Future<Resolution> two = pool.submit(() -> c.resolve("two"));
        upstream.awaitEntered("one", 1);
        upstream.awaitEntered("two", 1);

        Resolution three = c.resolve("three");

        assertThat(three).isInstanceOfSatisfying(Resolution.Failure.class,
                f -> assertThat(f.kind()).isEqualTo(Resolution.Kind.TIMEOUT));
        assertThat(upstream.calls("three")).as("never reached the upstream").isZero();
        upstream.open("one");
        upstream.open("two");
        upstream.open("three");
        one.get();
        two.get();
        assertThat(c.resolve("three")).as("a slot timeout says nothing about the name: not cached")
                .isInstanceOf(Resolution.Answer.class);
        assertThat(upstream.maxConcurrent()).isEqualTo(2);
    }

    @Test
    void resolve_manyCallersManyNames_neverExceedTheInFlightBound() throws Exception {
        for (int i = 0; i < 40; i++) {
            upstream.script("n" + i, answer(60));
        }
        upstream.yieldInside = true;
        CachingResolver c = cache().maxInFlight(4).acquireTimeout(Duration.ofSeconds(20)).build();

        List<Future<Resolution>> all = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            String name = "n" + (i % 40);
            all.add(pool.submit(() -> c.resolve(name)));
        }
        for (Future<Resolution> f : all) {
            assertThat(f.get()).isInstanceOf(Resolution.Answer.class);
        }

        assertThat(upstream.maxConcurrent()).isLessThanOrEqualTo(4);
        for (int i = 0; i < 40; i++) {
            assertThat(upstream.calls("n" + i)).as("each name once: cached or coalesced").isEqualTo(1);
        }
    }

    @Test
    void resolve_delegateThatThrows_isErrorForLeaderAndFollowers_andNotCached() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        Resolver broken = name -> {
            calls.incrementAndGet();
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("boom");
        };
        CachingResolver c = CachingResolver.builder(broken).ticker(now::get).build();

        Future<Resolution> leader = pool.submit(() -> c.resolve("x"));
        entered.await();
        Future<Resolution> follower = pool.submit(() -> c.resolve("x"));
        while (c.followers("x") < 1) {
            Thread.onSpinWait();
        }
        release.countDown();

        for (Resolution r : List.of(leader.get(), follower.get())) {
            assertThat(r).isInstanceOfSatisfying(Resolution.Failure.class,
                    f -> assertThat(f.kind()).isEqualTo(Resolution.Kind.ERROR));
        }
        c.resolve("x");
        assertThat(calls.get()).as("the failure was not cached").isEqualTo(2);
    }

    @Test
    void resolve_delegateReturningNull_isError() {
        CachingResolver c = CachingResolver.builder(name -> null).ticker(now::get).build();

        assertThat(c.resolve("x")).isInstanceOfSatisfying(Resolution.Failure.class,
                f -> assertThat(f.kind()).isEqualTo(Resolution.Kind.ERROR));
    }

    @Test
    void builder_rejectsNonsense() {
        assertThatThrownBy(() -> cache().ttl(Duration.ofSeconds(10), Duration.ofSeconds(5)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cache().maxInFlight(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cache().maxEntries(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cache().negativeTtl(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void defaults_areTheDocumentedOnes() {
        assertThat(CachingResolver.DEFAULT_MIN_TTL).isEqualTo(Duration.ofSeconds(5));
        assertThat(CachingResolver.DEFAULT_MAX_TTL).isEqualTo(Duration.ofSeconds(300));
        assertThat(CachingResolver.DEFAULT_NEGATIVE_TTL).isEqualTo(Duration.ofSeconds(30));
        assertThat(CachingResolver.DEFAULT_FAILURE_TTL).isEqualTo(Duration.ofSeconds(2));
        assertThat(CachingResolver.DEFAULT_MAX_IN_FLIGHT).isEqualTo(64);
        assertThat(CachingResolver.DEFAULT_MAX_ENTRIES).isEqualTo(10_000);
    }

    /** A scripted upstream that counts calls per name, can hold named lookups open, and tracks concurrency. */
    private static final class Upstream implements Resolver {

        private final Map<String, Resolution> scripted = new ConcurrentHashMap<>();
        private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
        private final Map<String, CountDownLatch> held = new ConcurrentHashMap<>();
        private final Map<String, Semaphore> entered = new ConcurrentHashMap<>();
        private final AtomicInteger running = new AtomicInteger();
        private final AtomicInteger maxRunning = new AtomicInteger();
        private final List<CountDownLatch> allHeld = Collections.synchronizedList(new ArrayList<>());
        volatile boolean yieldInside;

        void script(String name, Resolution r) {
            scripted.put(name, r);
        }

        void hold(String name) {
            CountDownLatch l = new CountDownLatch(1);
            held.put(name, l);
            allHeld.add(l);
        }

        void open(String name) {
            CountDownLatch l = held.remove(name);
            if (l != null) {
                l.countDown();
            }
        }

        void openAll() {
            synchronized (allHeld) {
                allHeld.forEach(CountDownLatch::countDown);
            }
        }

        void awaitEntered(String name, int n) throws InterruptedException {
            entered.computeIfAbsent(name, k -> new Semaphore(0)).acquire(n);
        }

        int calls(String name) {
            AtomicInteger n = calls.get(name);
            return n == null ? 0 : n.get();
        }

        int maxConcurrent() {
            return maxRunning.get();
        }

        @Override
        public Resolution resolve(String name) {
            calls.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet();
            int r = running.incrementAndGet();
            maxRunning.accumulateAndGet(r, Math::max);
            try {
                entered.computeIfAbsent(name, k -> new Semaphore(0)).release();
                CountDownLatch l = held.get(name);
                if (l != null) {
                    l.await(25, TimeUnit.SECONDS);
                }
                if (yieldInside) {
                    for (int i = 0; i < 50; i++) {
                        Thread.yield(); // widen the window in which lookups overlap
                    }
                }
                return scripted.getOrDefault(name, new Resolution.Failure(Resolution.Kind.NXDOMAIN, "unscripted"));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Resolution.Failure(Resolution.Kind.ERROR, "interrupted");
            } finally {
                running.decrementAndGet();
            }
        }
    }
}
