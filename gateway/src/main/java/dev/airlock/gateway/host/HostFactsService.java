package dev.airlock.gateway.host;

import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.policy.HostFacts;
import dev.airlock.policy.model.Rule;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Keeps what only the running host knows current for the engines of one process: the host's own
 * addresses (re-read every {@link #INTERFACE_PERIOD}) and the production names' addresses
 * (re-resolved as their TTLs run out). Engines compiled with {@link #facts()} read the newest
 * snapshots on every decision, the dial-time re-check included.
 *
 * <p>Java has no netlink listener, so a new address is seen within one period; the gap is
 * documented in SECURITY.md.
 */
public final class HostFactsService implements AutoCloseable {

    /** How often the interfaces are read again: short, since a read is a few system calls. */
    static final Duration INTERFACE_PERIOD = Duration.ofSeconds(1);
    /** How often due production names are looked at. */
    static final Duration PRODUCTION_TICK = Duration.ofSeconds(1);

    private final HostAddressWatch host;
    /** Swapped, on the scheduler's thread, when the organisation's production list changes. */
    private final AtomicReference<ProductionAddressWatch> production;
    private final ScheduledExecutorService scheduler;
    private List<Rule> productionRules;

    private HostFactsService(HostAddressWatch host, ProductionAddressWatch production, List<Rule> productionRules,
            ScheduledExecutorService scheduler) {
        this.host = host;
        this.production = new AtomicReference<>(production);
        this.productionRules = List.copyOf(productionRules);
        this.scheduler = scheduler;
    }

    /** Reads the interfaces and resolves the production names once, without keeping them current (explain, check). */
    public static HostFacts once(InterfaceAddresses interfaces, List<Rule> productionRules, Resolver resolver, PrintStream log)
            throws IOException {
        HostAddressWatch h = new HostAddressWatch(interfaces, log);
        ProductionAddressWatch p = new ProductionAddressWatch(productionRules, resolver, Clock.systemUTC(), log);
        p.resolveAll();
        return HostFacts.of(h.current(), p.current());
    }

    /**
     * Reads and resolves once, then keeps both current on a daemon thread.
     *
     * @throws IOException when the host's addresses cannot be read at all: the gateway must not
     *                     start without them (fail closed)
     */
    public static HostFactsService start(InterfaceAddresses interfaces, List<Rule> productionRules, Resolver resolver, PrintStream log)
            throws IOException {
        HostAddressWatch h = new HostAddressWatch(interfaces, log);
        ProductionAddressWatch p = new ProductionAddressWatch(productionRules, resolver, Clock.systemUTC(), log);
        p.resolveAll();
        ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "airlock-host-facts");
            t.setDaemon(true);
            return t;
        });
        // A task that throws is never run again: each one catches, so the snapshots keep their last value and stay current.
        s.scheduleWithFixedDelay(() -> guarded(h::refresh, log), INTERFACE_PERIOD.toMillis(), INTERFACE_PERIOD.toMillis(),
                TimeUnit.MILLISECONDS);
        HostFactsService service = new HostFactsService(h, p, productionRules, s);
        s.scheduleWithFixedDelay(() -> guarded(() -> service.production.get().tick(), log), PRODUCTION_TICK.toMillis(),
                PRODUCTION_TICK.toMillis(), TimeUnit.MILLISECONDS);
        return service;
    }

    /**
     * Follows a changed production list (the organisation policy was reloaded): new names are
     * resolved before this returns, so the engines compiled next deny their addresses from their
     * first decision; names still listed keep every address seen so far. Does nothing when the
     * list is unchanged.
     */
    public synchronized void production(List<Rule> rules) {
        if (rules.equals(productionRules)) {
            return;
        }
        try {
            // on the scheduler's thread: the watch is only ever touched there
            scheduler.submit(() -> production.set(production.get().following(rules))).get();
            productionRules = List.copyOf(rules);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while following the new production list", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.RejectedExecutionException e) {
            throw new IllegalStateException("cannot follow the new production list: " + e.getMessage(), e);
        }
    }

    private static void guarded(Runnable task, PrintStream log) {
        try {
            task.run();
        } catch (RuntimeException e) {
            log.println("airlock gateway: keeping host facts current failed once: " + e);
        }
    }

    public HostFacts facts() {
        return new HostFacts(host::current, () -> production.get().current());
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
