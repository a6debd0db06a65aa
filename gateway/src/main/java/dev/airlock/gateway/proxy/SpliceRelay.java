package dev.airlock.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoEvent;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Relays an established pair of epoll sockets with splice(2): socket → pipe → socket, the bytes
 * never enter the JVM. Both channels have been taken off Netty's epoll set ({@link SpliceHandover});
 * this relay registers the same file descriptors on the same event loop, edge-triggered with a
 * fixed interest (in, out, peer shutdown), and drives each direction from their readiness:
 * <ul>
 *   <li>A direction fills its pipe only when the pipe is empty, and drains it before filling
 *       again. While the receiver's send buffer is full the direction waits for EPOLLOUT and
 *       reads nothing: a slow reader stops the writer (back-pressure), and the JVM holds
 *       nothing. A fill that finds the socket empty waits for the next EPOLLIN edge.</li>
 *   <li>The end of a direction is its input's FIN (EPOLLRDHUP or EPOLLHUP). Once it is seen, the
 *       socket holds everything the peer will ever send, so the relay keeps filling and draining
 *       until a fill returns nothing (end of stream) and only then forwards the FIN. A zero from
 *       splice is read as "end" only after the FIN was seen, never before: no byte is left behind
 *       (Netty's own {@code spliceTo} stops at the FIN and loses what is still queued).</li>
 *   <li>Bytes are counted as they reach the other socket (the close record's counts); every move
 *       counts as activity for the idle timeout, which this relay keeps itself because no byte
 *       passes the pipelines' {@code IdleStateHandler} any more.</li>
 *   <li>When both directions are done, on an error (a reset, a broken pipe), on idleness, or when
 *       something else closes a channel, the relay cancels its registrations, closes both pipes
 *       and closes the channels; the {@link Relay}'s close listeners report the tunnel's end.</li>
 * </ul>
 */
final class SpliceRelay {

    /** EPOLLHUP from linux/eventpoll.h: Netty exports no constant for it. */
    private static final int EPOLLHUP = 0x10;
    private static final int EPOLLIN = EpollIoOps.EPOLLIN.value();
    private static final int EPOLLOUT = EpollIoOps.EPOLLOUT.value();
    private static final int EPOLLRDHUP = EpollIoOps.EPOLLRDHUP.value();
    private static final int EPOLLERR = EpollIoOps.EPOLLERR.value();
    private static final int EPOLLET = EpollIoOps.EPOLLET.value();
    /**
     * Bytes one direction moves per turn before it lets the loop's other channels run: what 16
     * loads of a default pipe moved, so that a pipe of 1 MiB does not hold the loop 16 times longer.
     */
    private static final long BYTES_PER_TURN = 16 * SplicePipe.DEFAULT_CAPACITY;

    private final IoEventLoop loop;
    private final End endA;
    private final End endB;
    private final Direction aToB;
    private final Direction bToA;
    private long idleNanos;
    private long lastActivity;
    private ScheduledFuture<?> idleTimer;
    private boolean over;

    private SpliceRelay(Channel a, Channel b, SplicePipe ab, SplicePipe ba, AtomicLong aToBBytes, AtomicLong bToABytes) {
        this.loop = (IoEventLoop) a.eventLoop();
        this.endA = new End(a);
        this.endB = new End(b);
        this.aToB = new Direction(endA, endB, ab, aToBBytes);
        this.bToA = new Direction(endB, endA, ba, bToABytes);
        endA.out = aToB;
        endA.in = bToA;
        endB.out = bToA;
        endB.in = aToB;
    }

    /** True when this pair can be spliced: two epoll sockets on one event loop. */
    static boolean supports(Channel a, Channel b) {
        return a instanceof EpollSocketChannel && b instanceof EpollSocketChannel
                && a.eventLoop() == b.eventLoop() && a.eventLoop() instanceof IoEventLoop;
    }

    /** Opens the two pipes before anything is handed over: when that fails, the copy relay goes on. */
    static SpliceRelay prepare(Channel a, Channel b, AtomicLong aToB, AtomicLong bToA, SpliceSettings settings)
            throws IOException {
        SplicePipe ab = settings.openPipe();
        try {
            return new SpliceRelay(a, b, ab, settings.openPipe(), aToB, bToA);
        } catch (IOException e) {
            ab.close();
            throw e;
        }
    }

    /** The hand-over was called off before {@link #start}: frees the pipes. */
    void discard() {
        aToB.pipe.close();
        bToA.pipe.close();
    }

    /**
     * Bytes Netty read from {@code from} during the hand-over: they go out before anything the
     * relay splices in that direction. Owned by the relay from now on.
     */
    void carry(Channel from, ByteBuf bytes) {
        (from == endA.channel ? aToB : bToA).carried.add(bytes);
    }

    /** Netty saw {@code from}'s FIN during the hand-over (and read everything before it). */
    void finSeen(Channel from) {
        (from == endA.channel ? aToB : bToA).finSeen = true;
    }

    /**
     * Takes over the two channels, which Netty no longer polls. Runs on their event loop.
     *
     * @param idleMillis a tunnel quiet for this long is closed; 0 for none
     */
    void start(long idleMillis) {
        this.idleNanos = TimeUnit.MILLISECONDS.toNanos(idleMillis);
        this.lastActivity = System.nanoTime();
        endA.channel.closeFuture().addListener(f -> closedElsewhere(endB));
        endB.channel.closeFuture().addListener(f -> closedElsewhere(endA));
        register(endA);
        register(endB);
        if (idleNanos > 0) {
            idleTimer = loop.schedule(this::checkIdle, idleNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void register(End end) {
        Future<IoRegistration> f = loop.register(end);
        f.addListener(done -> {
            if (!done.isSuccess()) {
                abort(done.cause());
                return;
            }
            IoRegistration r = f.getNow();
            if (over) {
                r.cancel();
                return;
            }
            end.registration = r;
            // Edge-triggered, and the interest never changes: no epoll_ctl per pipe load. The relay
            // keeps what it has not done yet (a full pipe, a FIN seen) in its own state.
            r.submit(EpollIoOps.valueOf(EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET));
            if (endA.registration != null && endB.registration != null) {
                kick();
            }
        });
    }

    /** Both ends are registered: each direction moves what is already waiting. */
    private void kick() {
        try {
            pump(aToB);
            pump(bToA);
            if (aToB.done && bToA.done) {
                finish();
            }
        } catch (IOException | RuntimeException e) {
            abort(e);
        }
    }

    /** One readiness report for {@code end}, or a turn this relay asked for itself. */
    private void turn(End end, int ops) {
        if (over) {
            return;
        }
        try {
            if ((ops & (EPOLLRDHUP | EPOLLHUP)) != 0) {
                end.out.finSeen = true;
            }
            if ((ops & EPOLLERR) != 0) {
                pump(end.out);
                pump(end.in);
                if (!over) {
                    throw new IOException("socket error " + ((Socket) end.fd).getSoError() + " on " + end.channel);
                }
                return;
            }
            // Input while the pipe waits for the receiver changes nothing now: the drain that
            // EPOLLOUT brings fills again, and edge-triggered readiness is not lost meanwhile.
            if ((ops & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0 && !end.out.blocked) {
                pump(end.out);
            }
            if ((ops & (EPOLLOUT | EPOLLHUP)) != 0 && end.in.blocked) {
                pump(end.in);
            }
            if (aToB.done && bToA.done) {
                finish();
            }
        } catch (IOException | RuntimeException e) {
            abort(e);
        }
    }

    private void pump(Direction d) throws IOException {
        if (d.done || over) {
            return;
        }
        if (!d.carried.isEmpty() && !sendCarried(d)) {
            d.blocked = true;
            return;
        }
        long movedThisTurn = 0;
        while (true) {
            if (d.pipe.held() > 0) {
                while (d.pipe.held() > 0) {
                    int n = d.pipe.drain(d.to.fd);
                    if (n == 0) {
                        d.blocked = true;
                        return;
                    }
                    d.moved.addAndGet(n);
                    movedThisTurn += n;
                }
                lastActivity = System.nanoTime();
            }
            d.blocked = false;
            if (d.atEnd) {
                // Every byte before the FIN went out: now the FIN.
                ((Socket) d.to.fd).shutdown(false, true);
                d.done = true;
                return;
            }
            if (movedThisTurn >= BYTES_PER_TURN) {
                // Fair to the loop's other channels; a direction past its FIN has no readiness to wait for.
                loop.execute(() -> turn(d.from, EPOLLIN));
                return;
            }
            if (d.pipe.fill(d.from.fd) == 0) {
                if (!d.finSeen) {
                    return;
                }
                d.atEnd = true;
            }
        }
    }

    /** Sends what Netty had read before the relay took over; false when the receiver is full. */
    private boolean sendCarried(Direction d) throws IOException {
        Socket to = (Socket) d.to.fd;
        while (!d.carried.isEmpty()) {
            ByteBuf b = d.carried.peek();
            if (!b.hasMemoryAddress()) {
                ByteBuf direct = Unpooled.directBuffer(b.readableBytes()).writeBytes(b);
                b.release();
                d.carried.poll();
                d.carried.addFirst(direct);
                b = direct;
            }
            int n = b.isReadable() ? to.sendAddress(b.memoryAddress(), b.readerIndex(), b.writerIndex()) : 0;
            if (b.isReadable() && n == 0) {
                return false;
            }
            b.skipBytes(n);
            d.moved.addAndGet(n);
            if (!b.isReadable()) {
                d.carried.poll().release();
            }
        }
        lastActivity = System.nanoTime();
        return true;
    }

    private void checkIdle() {
        idleTimer = null;
        if (over) {
            return;
        }
        long quiet = System.nanoTime() - lastActivity;
        if (quiet >= idleNanos) {
            end();
            closeIfOpen(endA.channel);
            closeIfOpen(endB.channel);
        } else {
            idleTimer = loop.schedule(this::checkIdle, idleNanos - quiet, TimeUnit.NANOSECONDS);
        }
    }

    private void finish() {
        end();
        closeIfOpen(endA.channel);
        closeIfOpen(endB.channel);
    }

    private void abort(Throwable cause) {
        if (over) {
            return;
        }
        end();
        ConnectionErrors.caught(endA.channel, "splice relay", cause);
        closeIfOpen(endA.channel);
        closeIfOpen(endB.channel);
    }

    private void closedElsewhere(End other) {
        if (!over) {
            end();
            closeIfOpen(other.channel);
        }
    }

    /** Frees everything the relay owns; the channels are closed by the caller. */
    private void end() {
        over = true;
        endA.cancel();
        endB.cancel();
        aToB.close();
        bToA.close();
        if (idleTimer != null) {
            idleTimer.cancel(false);
            idleTimer = null;
        }
    }

    private static void closeIfOpen(Channel ch) {
        if (ch.isOpen()) {
            ch.close();
        }
    }

    /** For tests: the pipes are closed once the relay is over. */
    boolean pipesOpen() {
        return aToB.pipe.isOpen() || bToA.pipe.isOpen();
    }

    /** One way through the pair. */
    private static final class Direction {
        final End from;
        final End to;
        final SplicePipe pipe;
        final AtomicLong moved;
        /** Bytes Netty read during the hand-over, sent before the first splice. */
        final ArrayDeque<ByteBuf> carried = new ArrayDeque<>(0);
        /** The sender's FIN arrived: the input socket holds all it will ever get. */
        boolean finSeen;
        /** A fill after the FIN returned nothing: once the pipe drains, the FIN goes on. */
        boolean atEnd;
        /** The FIN was forwarded. */
        boolean done;
        /** The receiver's send buffer is full; waiting for EPOLLOUT. */
        boolean blocked;

        Direction(End from, End to, SplicePipe pipe, AtomicLong moved) {
            this.from = from;
            this.to = to;
            this.pipe = pipe;
            this.moved = moved;
        }

        void close() {
            pipe.close();
            for (ByteBuf b; (b = carried.poll()) != null; ) {
                b.release();
            }
        }
    }

    /** One socket of the pair as the event loop sees it: input of one direction, output of the other. */
    private final class End implements EpollIoHandle {
        final Channel channel;
        final FileDescriptor fd;
        Direction out;
        Direction in;
        IoRegistration registration;

        End(Channel channel) {
            this.channel = channel;
            this.fd = ((EpollSocketChannel) channel).fd();
        }

        @Override
        public FileDescriptor fd() {
            return fd;
        }

        @Override
        public void handle(IoRegistration registration, IoEvent event) {
            turn(this, ((EpollIoEvent) event).ops().value());
        }

        void cancel() {
            if (registration != null && registration.isValid()) {
                registration.cancel();
            }
        }

        /** The event loop is shutting down. */
        @Override
        public void close() {
            abort(new IOException("the event loop closed"));
        }
    }
}
