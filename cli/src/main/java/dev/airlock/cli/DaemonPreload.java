package dev.airlock.cli;

import dev.airlock.gateway.proxy.Transport;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.slf4j.LoggerFactory;

/**
 * The daemon's start reads its configuration on one core while the other idles. Meanwhile this
 * thread loads what the start needs next and reads from the jar, not the class cache: Netty's
 * epoll transport with its native library, SQLite's driver with its native library, and the
 * Prometheus registry. The main thread then finds them loaded, or waits for a load under way.
 * A failure here is ignored: the main thread meets it where it would have, with its own error
 * (none of the three fails in a static initialiser, which would leave its class unusable).
 */
final class DaemonPreload {

    private DaemonPreload() {
    }

    /** The preloading thread, started; a daemon thread, so it never holds the JVM up. */
    static Thread start() {
        // SLF4J binds its provider on first use; two threads binding at once made it print a "replayed
        // logging calls" warning on every start. Bound here, on the main thread, first.
        LoggerFactory.getILoggerFactory();
        return Thread.ofPlatform().daemon().name("airlock-preload").start(() -> {
            try {
                Transport.epoll();
                org.sqlite.SQLiteJDBCLoader.initialize();
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT).close();
            } catch (Exception | LinkageError e) {
                // left to the main thread (above)
            }
        });
    }
}
