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
    private final ProductionAddressWatch production;
    private final ScheduledExecutorService scheduler;

    private HostFactsService(HostAddressWatch host, ProductionAddressWatch production, ScheduledExecutorService scheduler) {
        this.host = host;
        this.production = production;
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
        s.scheduleWithFixedDelay(() -> guarded(p::tick, log), PRODUCTION_TICK.toMillis(), PRODUCTION_TICK.toMillis(),
                TimeUnit.MILLISECONDS);
        return new HostFactsService(h, p, s);
    }

    private static void guarded(Runnable task, PrintStream log) {
        try {
            task.run();
        } catch (RuntimeException e) {
            log.println("airlock gateway: keeping host facts current failed once: " + e);
        }
    }

    public HostFacts facts() {
        return new HostFacts(host::current, production::current);
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
