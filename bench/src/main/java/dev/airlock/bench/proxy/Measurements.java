package dev.airlock.bench.proxy;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The three measurements, each bounded in time and in count, each on platform threads doing
 * blocking I/O: the load generator should cost little and be simple to reason about.
 */
final class Measurements {

    /** Bulk reads: large, so the generator makes few system calls per MiB. */
    private static final int READ_BUFFER_BYTES = 256 * 1024;
    /** Threads that open the idle tunnels: enough to overlap round trips, few enough not to matter. */
    private static final int IDLE_OPENERS = 8;
    /** The whole idle-tunnel ramp must finish within this, or the rest counts as failed. */
    private static final Duration IDLE_RAMP_LIMIT = Duration.ofSeconds(180);
    /** Time for the proxy to settle (buffers returned, JIT quiet) before it is probed. */
    private static final Duration IDLE_SETTLE = Duration.ofSeconds(3);
    /** Idle tunnels checked for an echo after probing: proof they were tunnels, not half-dead sockets. */
    private static final int IDLE_VERIFY_SAMPLE = 200;
    /** Back-off after a failed attempt, so a proxy refusing everything is not hammered in a tight loop. */
    private static final long ERROR_BACKOFF_MS = 2;

    private final Route route;
    private final Optional<ProcessProbe> proxy;
    private final PrintStream log;

    /** @param proxy the proxy's process, for its CPU time; empty for the direct baseline */
    Measurements(Route route, Optional<ProcessProbe> proxy, PrintStream log) {
        this.route = route;
        this.proxy = proxy;
        this.log = log;
    }

    /** The proxy's CPU time so far, in seconds; NaN without a proxy process. */
    private double cpu() {
        try {
            return proxy.isPresent() ? proxy.get().cpuSeconds() : Double.NaN;
        } catch (IOException e) {
            return Double.NaN;
        }
    }

    // ---- bulk throughput ------------------------------------------------------------------------

    /**
     * MiB/s moved from the origin to the client over {@code streams} tunnels, after a warm-up.
     *
     * @param proxyCores the proxy's CPU time over the window divided by the window (1.0 = one core)
     */
    record Throughput(double mibPerSecond, double proxyCores, int streamsOpened, String error) {
    }

    Throughput throughput(int streams, Duration warmup, Duration measure) throws InterruptedException {
        LongAdder bytes = new LongAdder();
        List<SocketChannel> open = new CopyOnWriteArrayList<>();
        CountDownLatch ready = new CountDownLatch(streams);
        List<String> errors = new CopyOnWriteArrayList<>();
        List<Thread> readers = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            readers.add(Thread.ofPlatform().daemon().name("bulk-" + i).start(() -> {
                SocketChannel ch;
                try {
                    ch = route.open(Route.Port.SOURCE, new byte[8192], new long[1]);
                    // A real download starts with the client's bytes (a TLS ClientHello, a request).
                    // One opaque byte does the same here: Airlock's protocol gate sees a stream that
                    // names no server and leaves, so the tunnel is relayed (spliced) as a download
                    // after its first bytes is. Squid and tinyproxy do not look; the origin drops it.
                    ch.write(ByteBuffer.wrap(new byte[] {0}));
                    open.add(ch);
                } catch (IOException e) {
                    errors.add(e.toString());
                    return;
                } finally {
                    ready.countDown();
                }
                ByteBuffer buf = ByteBuffer.allocateDirect(READ_BUFFER_BYTES);
                try {
                    while (true) {
                        int n = ch.read(buf);
                        if (n < 0) {
                            errors.add("the tunnel closed during the measurement");
                            return;
                        }
                        bytes.add(n);
                        buf.clear();
                    }
                } catch (IOException e) {
                    // Closed by the harness at the end of the measurement: the normal way out.
                }
            }));
        }
        try {
            if (!ready.await(Route.HANDSHAKE_TIMEOUT_MS * 2L, TimeUnit.MILLISECONDS) || open.size() < streams) {
                return new Throughput(Double.NaN, Double.NaN, open.size(),
                        errors.isEmpty() ? "streams did not open in time" : errors.get(0));
            }
            Thread.sleep(warmup.toMillis());
            long b0 = bytes.sum();
            double c0 = cpu();
            long t0 = System.nanoTime();
            Thread.sleep(measure.toMillis());
            long b1 = bytes.sum();
            double c1 = cpu();
            long t1 = System.nanoTime();
            if (!errors.isEmpty()) {
                return new Throughput(Double.NaN, Double.NaN, open.size(), errors.get(0));
            }
            double seconds = (t1 - t0) / 1e9;
            return new Throughput((b1 - b0) / seconds / (1024.0 * 1024.0), (c1 - c0) / seconds, open.size(), "");
        } finally {
            closeAll(open);
            for (Thread t : readers) {
                t.join(Route.HANDSHAKE_TIMEOUT_MS);
            }
        }
    }

    // ---- new tunnels per second -----------------------------------------------------------------

    /**
     * @param perSecond tunnels completed (opened, one byte echoed, closed) per second of the window
     * @param toStatus  sorted latencies, nanoseconds, connect() to the proxy's 200 (direct: connected)
     * @param toEcho    sorted latencies, nanoseconds, connect() to the first echoed byte
     * @param errors    failed attempts by kind, over warm-up and window
     * @param proxyCores the proxy's CPU time over the window divided by the window
     */
    record Rate(double perSecond, long[] toStatus, long[] toEcho, Map<String, Long> errors, double proxyCores) {
        /** The proxy's CPU time per completed tunnel, in microseconds. */
        double cpuMicrosPerTunnel() {
            return proxyCores / perSecond * 1e6;
        }

        double percentileMs(long[] sorted, double p) {
            if (sorted.length == 0) {
                return Double.NaN;
            }
            int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
            return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
        }
    }

    Rate tunnelRate(int clients, Duration warmup, Duration measure) throws InterruptedException {
        long start = System.nanoTime();
        long windowStart = start + warmup.toNanos();
        long windowEnd = windowStart + measure.toNanos();
        Map<String, LongAdder> errors = new ConcurrentHashMap<>();
        List<long[]> toStatus = new CopyOnWriteArrayList<>();
        List<long[]> toEcho = new CopyOnWriteArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            threads.add(Thread.ofPlatform().daemon().name("tunnel-" + c).start(() -> {
                LongList status = new LongList();
                LongList echo = new LongList();
                byte[] scratch = new byte[8192];
                // Not a token character: a lone '*' could start an HTTP request line, which the
                // gateway's protocol gate holds until the line ends (docs/policy.md).
                byte[] one = {1};
                long[] leftover = new long[1];
                while (true) {
                    long t0 = System.nanoTime();
                    if (t0 >= windowEnd) {
                        break;
                    }
                    try (SocketChannel ch = route.open(Route.Port.ECHO, scratch, leftover)) {
                        long t1 = System.nanoTime();
                        if (!Route.echo(ch, one)) {
                            throw new IOException("no echo");
                        }
                        long t2 = System.nanoTime();
                        if (t0 >= windowStart && t2 <= windowEnd) {
                            status.add(t1 - t0);
                            echo.add(t2 - t0);
                        }
                    } catch (Route.Refused r) {
                        errors.computeIfAbsent("status " + r.status, k -> new LongAdder()).increment();
                        backOff();
                    } catch (IOException e) {
                        count(errors, e);
                        backOff();
                    }
                }
                toStatus.add(status.toArray());
                toEcho.add(echo.toArray());
            }));
        }
        sleepUntil(windowStart);
        double c0 = cpu();
        sleepUntil(windowEnd);
        double c1 = cpu();
        // An attempt in flight at the end of the window finishes within the handshake timeout
        // (connect to a loopback listener cannot hang for longer); a client stuck beyond that is
        // left behind and its samples are lost, rather than the harness waiting forever.
        long joinDeadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3L * Route.HANDSHAKE_TIMEOUT_MS);
        for (Thread t : threads) {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(joinDeadline - System.nanoTime())));
        }
        long[] s = merge(toStatus);
        long[] e = merge(toEcho);
        Map<String, Long> errs = new TreeMap<>();
        errors.forEach((k, v) -> errs.put(k, v.sum()));
        double seconds = measure.toNanos() / 1e9;
        return new Rate(e.length / seconds, s, e, errs, (c1 - c0) / seconds);
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long left;
        while ((left = nanoTime - System.nanoTime()) > 0) {
            TimeUnit.NANOSECONDS.sleep(left);
        }
    }

    /** Failures are counted by kind; the kinds are few (a refusal status, a timeout, a reset). */
    private static void count(Map<String, LongAdder> errors, IOException e) {
        errors.computeIfAbsent(e.getClass().getSimpleName() + ": " + e.getMessage(), k -> new LongAdder()).increment();
    }

    private static void backOff() {
        try {
            Thread.sleep(ERROR_BACKOFF_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static long[] merge(List<long[]> parts) {
        long[] all = parts.stream().flatMapToLong(Arrays::stream).toArray();
        Arrays.sort(all);
        return all;
    }

    /** A growable long array: a window holds up to a few hundred thousand samples per thread. */
    private static final class LongList {
        private long[] a = new long[16_384];
        private int n;

        void add(long v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        long[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }

    // ---- idle tunnels -----------------------------------------------------------------------------

    /**
     * @param opened     tunnels that answered 200 and echoed one byte
     * @param echoing    of a sample of the opened, how many still echoed after probing
     * @param sampled    the sample's size
     * @param before     the proxy before the ramp
     * @param after      the proxy holding {@code opened} idle tunnels
     */
    record Idle(int requested, int opened, Map<String, Long> errors, double rampSeconds, int echoing, int sampled,
            Snapshot before, Snapshot after) {
    }

    /** What a proxy process holds; heap only for a JVM. */
    record Snapshot(long rssKiB, long threads, long openFiles, Optional<ProcessProbe.Heap> heap) {
    }

    Idle idleTunnels(int count, ProcessProbe probe) throws InterruptedException, IOException {
        Snapshot before = snapshot(probe);
        log.printf("  before: %s%n", before);
        SocketChannel[] tunnels = new SocketChannel[count];
        Map<String, LongAdder> errors = new ConcurrentHashMap<>();
        AtomicInteger next = new AtomicInteger();
        long deadline = System.nanoTime() + IDLE_RAMP_LIMIT.toNanos();
        long t0 = System.nanoTime();
        List<Thread> openers = new ArrayList<>();
        for (int k = 0; k < IDLE_OPENERS; k++) {
            openers.add(Thread.ofPlatform().daemon().name("idle-" + k).start(() -> {
                byte[] scratch = new byte[8192];
                byte[] one = {7};
                long[] leftover = new long[1];
                int i;
                while ((i = next.getAndIncrement()) < count && System.nanoTime() < deadline) {
                    try {
                        SocketChannel ch = route.open(Route.Port.ECHO, scratch, leftover);
                        if (!Route.echo(ch, one)) {
                            ch.close();
                            throw new IOException("no echo");
                        }
                        tunnels[i] = ch;
                    } catch (Route.Refused r) {
                        errors.computeIfAbsent("status " + r.status, x -> new LongAdder()).increment();
                    } catch (IOException e) {
                        count(errors, e);
                    }
                }
            }));
        }
        try {
            for (Thread t : openers) {
                t.join(IDLE_RAMP_LIMIT.toMillis() + 2L * Route.HANDSHAKE_TIMEOUT_MS);
            }
            double rampSeconds = (System.nanoTime() - t0) / 1e9;
            int opened = (int) Arrays.stream(tunnels).filter(c -> c != null).count();
            log.printf("  %d of %d tunnels open after %.1f s%n", opened, count, rampSeconds);
            Thread.sleep(IDLE_SETTLE.toMillis());
            Snapshot after = snapshot(probe);
            log.printf("  after:  %s%n", after);
            int sampled = 0;
            int echoing = 0;
            if (opened > 0) {
                int step = Math.max(1, count / IDLE_VERIFY_SAMPLE);
                byte[] one = {9};
                for (int i = 0; i < count; i += step) {
                    if (tunnels[i] != null) {
                        sampled++;
                        echoing += Route.echo(tunnels[i], one) ? 1 : 0;
                    }
                }
            }
            Map<String, Long> errs = new TreeMap<>();
            errors.forEach((k, v) -> errs.put(k, v.sum()));
            return new Idle(count, opened, errs, rampSeconds, echoing, sampled, before, after);
        } finally {
            for (SocketChannel ch : tunnels) {
                if (ch != null) {
                    try {
                        ch.close();
                    } catch (IOException e) {
                        // Closing is best effort; the process exit closes the rest.
                    }
                }
            }
        }
    }

    private static Snapshot snapshot(ProcessProbe probe) throws IOException, InterruptedException {
        Optional<ProcessProbe.Heap> heap = probe.heapAfterFullGc();
        return new Snapshot(probe.rssKiB(), probe.threads(), probe.openFiles(), heap);
    }

    private static void closeAll(List<SocketChannel> channels) {
        for (SocketChannel ch : channels) {
            try {
                ch.close();
            } catch (IOException e) {
                // Best effort, see above.
            }
        }
    }
}
