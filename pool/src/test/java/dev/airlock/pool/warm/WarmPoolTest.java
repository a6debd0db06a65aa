package dev.airlock.pool.warm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WarmPoolTest {

    /** Members are numbers; the factory remembers which exist, so a test sees leaks and reuse. */
    static final class Members implements MemberFactory<Integer> {
        final AtomicInteger next = new AtomicInteger();
        final Set<Integer> alive = ConcurrentHashMap.newKeySet();
        final Set<Integer> destroyed = ConcurrentHashMap.newKeySet();
        final AtomicBoolean failing = new AtomicBoolean();
        final Set<Integer> dead = ConcurrentHashMap.newKeySet();
        final java.util.Map<Integer, java.util.concurrent.CompletableFuture<MemberDeath>> deaths = new ConcurrentHashMap<>();

        /** The member's init exits on its own (as a kill from outside would make it). */
        void kill(Integer member) {
            dead.add(member);
            death(member).toCompletableFuture().complete(MemberDeath.ofExit("member " + member, 137));
        }

        @Override
        public java.util.concurrent.CompletionStage<MemberDeath> death(Integer member) {
            return deaths.computeIfAbsent(member, k -> new java.util.concurrent.CompletableFuture<>());
        }

        @Override
        public boolean usable(Integer member) {
            return !dead.contains(member);
        }

        @Override
        public Integer create(String project) throws Exception {
            if (failing.get()) {
                throw new Exception("setup exploded");
            }
            int m = next.incrementAndGet();
            alive.add(m);
            return m;
        }

        @Override
        public void destroy(Integer member) {
            assertThat(destroyed.add(member)).as("destroyed once: " + member).isTrue();
            alive.remove(member);
        }
    }

    final ScheduledExecutorService background = Executors.newScheduledThreadPool(4);
    final Members members = new Members();

    @AfterEach
    void stop() {
        background.shutdownNow();
    }

    WarmPool<Integer> pool(int desired, WarmPool.Settings s) {
        return new WarmPool<>("payments", s, members, () -> desired, background, System::nanoTime, PoolListener.NONE);
    }

    static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
        for (int i = 0; i < 1000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertThat(condition.getAsBoolean()).as(what).isTrue();
    }

    @Test
    void refill_buildsUpToTheDesiredSize_andClaimsAreWarm() throws Exception {
        WarmPool<Integer> p = pool(3, WarmPool.Settings.DEFAULT);
        p.refill();
        eventually(() -> p.status().ready() == 3, "three ready");
        WarmPool.Claim<Integer> c = p.claim();
        assertThat(c.warm()).isTrue();
        eventually(() -> p.status().ready() == 3, "refilled after the claim");
        assertThat(p.status().inUse()).isEqualTo(1);
        assertThat(p.status().warmHitRate()).isEqualTo(1.0);
    }

    @Test
    void claim_onAnEmptyPool_isACold_start() throws Exception {
        WarmPool<Integer> p = pool(0, WarmPool.Settings.DEFAULT);
        WarmPool.Claim<Integer> c = p.claim();
        assertThat(c.warm()).isFalse();
        assertThat(p.status().coldStartRate()).isEqualTo(1.0);
        assertThat(members.alive).containsExactly(c.member());
    }

    @Test
    void claim_fiftyConcurrent_neverShareAMember() throws Exception {
        WarmPool<Integer> p = pool(20, new WarmPool.Settings(100, Duration.ofMillis(10), Duration.ofSeconds(1)));
        p.refill();
        eventually(() -> p.status().ready() == 20, "twenty ready");
        ExecutorService claimers = Executors.newFixedThreadPool(50);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<WarmPool.Claim<Integer>>> claims = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            claims.add(claimers.submit(() -> {
                go.await();
                return p.claim();
            }));
        }
        go.countDown();
        Set<Integer> got = new HashSet<>();
        int warm = 0;
        for (Future<WarmPool.Claim<Integer>> f : claims) {
            WarmPool.Claim<Integer> c = f.get(30, TimeUnit.SECONDS);
            assertThat(got.add(c.member())).as("member " + c.member() + " handed out twice").isTrue();
            warm += c.warm() ? 1 : 0;
        }
        claimers.shutdown();
        assertThat(warm).isBetween(1, 50);
        assertThat(p.status().inUse()).isEqualTo(50);
        assertThat(p.status().warmClaims() + p.status().coldClaims()).isEqualTo(50);
    }

    @Test
    void release_destroysTheMember_neverReusesIt() throws Exception {
        WarmPool<Integer> p = pool(1, WarmPool.Settings.DEFAULT);
        p.refill();
        eventually(() -> p.status().ready() == 1, "one ready");
        Integer first = p.claim().member();
        p.release(first);
        eventually(() -> members.destroyed.contains(first), "released member destroyed");
        eventually(() -> p.status().ready() == 1, "refilled");
        assertThat(p.claim().member()).isNotEqualTo(first);
    }

    @Test
    void claim_atTheHardLimit_failsWithTheFix() throws Exception {
        WarmPool<Integer> p = pool(0, new WarmPool.Settings(2, Duration.ofMillis(10), Duration.ofSeconds(1)));
        p.claim();
        p.claim();
        assertThatThrownBy(p::claim).isInstanceOf(WarmPool.ClaimException.class).hasMessageContaining("hard limit")
                .hasMessageContaining("Fix:");
        assertThat(p.status().failedClaims()).isEqualTo(1);
    }

    @Test
    void refill_failing_backsOff_showsTheFailure_andRecovers() throws Exception {
        members.failing.set(true);
        WarmPool<Integer> p = pool(2, new WarmPool.Settings(10, Duration.ofMillis(20), Duration.ofMillis(200)));
        p.refill();
        eventually(() -> p.status().consecutiveFailures() >= 2, "failures counted");
        assertThat(p.status().lastFailure()).contains("setup exploded");
        assertThat(p.status().ready()).isZero();
        members.failing.set(false);
        eventually(() -> p.status().ready() == 2, "recovered after the backoff");
        assertThat(p.status().lastFailure()).isEmpty();
    }

    @Test
    void rotate_replacesIdleMembers_notThoseInUse() throws Exception {
        WarmPool<Integer> p = pool(2, WarmPool.Settings.DEFAULT);
        p.refill();
        eventually(() -> p.status().ready() == 2, "two ready");
        Integer busy = p.claim().member();
        eventually(() -> p.status().ready() == 2, "refilled");
        Set<Integer> idle = new HashSet<>(members.alive);
        idle.remove(busy);
        p.rotate();
        eventually(() -> members.destroyed.containsAll(idle) && p.status().ready() == 2, "idle members rotated");
        assertThat(members.alive).contains(busy).doesNotContainAnyElementsOf(idle);
    }

    @Test
    void refill_whenTheDesiredSizeFalls_destroysTheOldestIdleMembers() throws Exception {
        java.util.concurrent.atomic.AtomicInteger desired = new java.util.concurrent.atomic.AtomicInteger(3);
        WarmPool<Integer> p = new WarmPool<>("payments", WarmPool.Settings.DEFAULT, members, desired::get, background, System::nanoTime,
                PoolListener.NONE);
        p.refill();
        eventually(() -> p.status().ready() == 3, "three ready");
        desired.set(1);
        p.refill();
        eventually(() -> members.destroyed.size() == 2, "two idle members destroyed");
        assertThat(p.status().ready()).isEqualTo(1);
        assertThat(members.alive).hasSize(1);
    }

    @Test
    void claim_skipsAReadyMemberWhoseInitDied_andDestroysIt() throws Exception {
        WarmPool<Integer> p = pool(2, WarmPool.Settings.DEFAULT);
        p.refill();
        eventually(() -> p.status().ready() == 2, "two ready");
        Set<Integer> ready = new HashSet<>(members.alive);
        Integer alive = ready.stream().max(Integer::compare).orElseThrow();
        Integer dead = ready.stream().min(Integer::compare).orElseThrow();
        members.dead.add(dead);
        WarmPool.Claim<Integer> c = p.claim();
        assertThat(c.member()).isEqualTo(alive);
        assertThat(c.warm()).isTrue();
        eventually(() -> members.destroyed.contains(dead), "the dead member destroyed");
    }

    @Test
    void close_destroysEverything_andLeaksNothing() throws Exception {
        WarmPool<Integer> p = pool(3, WarmPool.Settings.DEFAULT);
        p.refill();
        eventually(() -> p.status().ready() == 3, "three ready");
        p.claim();
        p.close();
        eventually(() -> members.alive.isEmpty(), "nothing left");
        assertThatThrownBy(p::claim).isInstanceOf(WarmPool.ClaimException.class);
    }

    /** Collects the deaths the pool reports. */
    static final class Deaths implements PoolListener {
        final List<MemberDeath> seen = java.util.Collections.synchronizedList(new ArrayList<>());

        @Override
        public void claimed(String project, Result result, Duration took, Duration age, Duration built) {
        }

        @Override
        public void refilled(String project, Duration took) {
        }

        @Override
        public void refillFailed(String project, Throwable error) {
        }

        @Override
        public void memberDied(String project, MemberDeath death) {
            seen.add(death);
        }
    }

    @Test
    void memberDeath_whileReady_leavesReadyAtOnce_isReported_andReplaced() throws Exception {
        Deaths deaths = new Deaths();
        WarmPool<Integer> p = new WarmPool<>("payments", WarmPool.Settings.DEFAULT, members, () -> 2, background, System::nanoTime, deaths);
        p.refill();
        eventually(() -> p.status().ready() == 2, "two ready");
        Integer victim = members.alive.stream().min(Integer::compare).orElseThrow();
        members.kill(victim);
        // reported synchronously by the watch: no claim and no refill tick needed to notice it
        assertThat(p.members()).doesNotContain(victim);
        assertThat(p.status().memberDeaths()).isEqualTo(1);
        assertThat(deaths.seen).singleElement().satisfies(d -> {
            assertThat(d.reason()).isEqualTo("killed");
            assertThat(d.detail()).contains("member " + victim).contains("signal 9").contains("137");
        });
        eventually(() -> members.destroyed.contains(victim), "the dead member destroyed");
        eventually(() -> p.status().ready() == 2 && !p.members().contains(victim), "replaced");
        assertThat(p.claim().warm()).isTrue();
    }

    @Test
    void memberDeath_afterItsClaim_isTheCommandEnding_notCounted() throws Exception {
        Deaths deaths = new Deaths();
        WarmPool<Integer> p = new WarmPool<>("payments", WarmPool.Settings.DEFAULT, members, () -> 1, background, System::nanoTime, deaths);
        p.refill();
        eventually(() -> p.status().ready() == 1, "one ready");
        Integer claimed = p.claim().member();
        members.kill(claimed);
        assertThat(p.status().memberDeaths()).isZero();
        assertThat(deaths.seen).isEmpty();
        assertThat(p.inUse(claimed)).isTrue();
    }

    @Test
    void claim_ofAMemberFoundDead_beforeItsExitWasReported_countsOneDeath() throws Exception {
        Deaths deaths = new Deaths();
        WarmPool<Integer> p = new WarmPool<>("payments", WarmPool.Settings.DEFAULT, members, () -> 1, background, System::nanoTime, deaths);
        p.refill();
        eventually(() -> p.status().ready() == 1, "one ready");
        Integer dead = members.alive.iterator().next();
        members.dead.add(dead); // dead, its exit not yet reported
        assertThat(p.claim().warm()).isFalse();
        members.death(dead).toCompletableFuture().complete(MemberDeath.ofExit("member " + dead, 0));
        assertThat(p.status().memberDeaths()).isEqualTo(1);
        assertThat(deaths.seen).singleElement().satisfies(d -> assertThat(d.reason()).isEqualTo("gone"));
    }
}
