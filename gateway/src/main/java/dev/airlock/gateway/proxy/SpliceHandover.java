package dev.airlock.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Moves an established pair from the copy {@link Relay} to the {@link SpliceRelay} once no byte
 * needs to be looked at any more: the protocol gate has left the client's pipeline and no answer
 * watch sits in the upstream's. The move happens only at a quiet point: no copy in flight either
 * way and no half-close yet, so the copy relay holds no byte.
 *
 * <p>Netty takes a channel off its epoll set a little later than it is asked to (deregistration
 * is a task on the loop). Whatever Netty still delivers in between is held here. Bytes and a FIN
 * go with the move: the splice relay sends them before anything it splices that way. An error or
 * a closed channel calls the move off: both channels go back to Netty and the copy relay gets the
 * held events in order, as if nothing had happened. A later quiet point may try again, a few
 * times at most.
 *
 * <p>A tunnel is handed over only once it has moved {@link #DEFAULT_AFTER_BYTES} (either way):
 * the move costs two pipes and four epoll updates, more than the copy relay spends on a short
 * request and answer, so only tunnels that carry bulk are spliced. Splicing is on by default on
 * Linux; {@code -Dairlock.relay.splice=false} keeps every tunnel on the copy relay, and a number
 * ({@code -Dairlock.relay.splice=0}) sets the threshold in bytes.
 */
final class SpliceHandover {

    static final String PROPERTY = "airlock.relay.splice";
    static final String PIPE_PROPERTY = "airlock.relay.splice.pipe";
    static final long DEFAULT_AFTER_BYTES = 128 * 1024;
    /** A threshold that means "never splice". */
    static final long OFF = -1;
    private static final int ATTEMPTS = 3;

    private enum State { COPYING, MOVING, SPLICING }

    private final Channel a;
    private final Channel b;
    private final AtomicLong aToB;
    private final AtomicLong bToA;
    private final SpliceSettings settings;
    private Relay relayA;
    private Relay relayB;
    private State state = State.COPYING;
    private int copying;
    private int attempts;
    private final List<Object> heldA = new ArrayList<>(0);
    private final List<Object> heldB = new ArrayList<>(0);

    private SpliceHandover(Channel a, Channel b, AtomicLong aToB, AtomicLong bToA, SpliceSettings settings) {
        this.a = a;
        this.b = b;
        this.aToB = aToB;
        this.bToA = bToA;
        this.settings = settings;
    }

    /**
     * The configured threshold: bytes a tunnel moves on the copy relay before it is spliced, or
     * {@link #OFF}. A value that is neither {@code true}, {@code false} nor a byte count fails
     * (closed: the gateway does not start on a setting it does not understand); so does a pipe
     * size ({@link #PIPE_PROPERTY}) that is not a positive number of bytes.
     */
    static long configured() {
        configuredPipeBytes();
        String v = System.getProperty(PROPERTY, "true").trim();
        if (v.equalsIgnoreCase("true") || v.equalsIgnoreCase("on")) {
            return DEFAULT_AFTER_BYTES;
        }
        if (v.equalsIgnoreCase("false") || v.equalsIgnoreCase("off")) {
            return OFF;
        }
        try {
            long n = Long.parseLong(v);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("-D" + PROPERTY + "=" + v + " is not understood: use true (splice tunnels after "
                + DEFAULT_AFTER_BYTES + " bytes), false (never splice) or a number of bytes after which to splice");
    }

    /**
     * The capacity each spliced direction asks for its pipe ({@code -Dairlock.relay.splice.pipe},
     * bytes): {@link SpliceSettings#DEFAULT_PIPE_BYTES} unless set. The kernel caps it at
     * {@code /proc/sys/fs/pipe-max-size} for a gateway without CAP_SYS_RESOURCE, and a refused
     * resize keeps the default 64 KiB.
     */
    static int configuredPipeBytes() {
        String v = System.getProperty(PIPE_PROPERTY);
        if (v == null) {
            return SpliceSettings.DEFAULT_PIPE_BYTES;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("-D" + PIPE_PROPERTY + "=" + v + " is not understood: use a number of bytes"
                + " for each spliced direction's pipe (default " + SpliceSettings.DEFAULT_PIPE_BYTES + ")");
    }

    /** The configured threshold, read once (the relay asks per tunnel). */
    static long threshold() {
        return Configured.SETTINGS.afterBytes();
    }

    /** The configured settings, read once (the relay asks per tunnel). */
    static SpliceSettings settings() {
        return Configured.SETTINGS;
    }

    private static final class Configured {
        static final SpliceSettings SETTINGS = new SpliceSettings(configured(), configuredPipeBytes(), PipeSizing.kernel());
    }

    /**
     * A hand-over for this pair, or null when it cannot be spliced (NIO, two event loops) or
     * splicing is off.
     */
    static SpliceHandover forPair(Channel a, Channel b, AtomicLong aToB, AtomicLong bToA, SpliceSettings settings) {
        return settings.on() && SpliceRelay.supports(a, b) ? new SpliceHandover(a, b, aToB, bToA, settings) : null;
    }

    void relays(Relay onA, Relay onB) {
        this.relayA = onA;
        this.relayB = onB;
    }

    /** A copy was handed to the peer's channel. */
    void copyStarted() {
        copying++;
    }

    void copyDone() {
        copying--;
    }

    /**
     * True when the event was taken: a move is under way and the copy relay must not act on it
     * now. Bytes and a FIN go with the move; anything else calls it off and is replayed to the
     * relay afterwards.
     */
    boolean hold(Relay relay, Object event) {
        if (state != State.MOVING) {
            return false;
        }
        (relay == relayA ? heldA : heldB).add(event);
        return true;
    }

    /**
     * Starts the move if this is a quiet point; true when it started (the caller must not read:
     * the channels are no longer Netty's to read).
     */
    boolean tryStart() {
        if (state != State.COPYING || copying != 0 || attempts >= ATTEMPTS || aToB.get() + bToA.get() < settings.afterBytes()
                || !a.eventLoop().inEventLoop()
                || a.pipeline().get("gate") != null || b.pipeline().get("answer-watch") != null
                || relayA.inputDone() || relayB.inputDone() || !open(a) || !open(b)) {
            return false;
        }
        SpliceRelay splice;
        try {
            splice = SpliceRelay.prepare(a, b, aToB, bToA, settings);
        } catch (IOException e) {
            // Out of file descriptors for the pipes: this tunnel stays on the copy relay.
            attempts = ATTEMPTS;
            return false;
        }
        attempts++;
        state = State.MOVING;
        ChannelFuture da = a.deregister();
        ChannelFuture db = b.deregister();
        da.addListener(f -> db.addListener(g -> moved(splice, f.isSuccess() && g.isSuccess())));
        return true;
    }

    private static boolean open(Channel ch) {
        return ch.isActive() && ch instanceof DuplexChannel d && !d.isInputShutdown() && !d.isOutputShutdown();
    }

    private void moved(SpliceRelay splice, boolean deregistered) {
        if (deregistered && carriable(heldA) && carriable(heldB) && live(a) && live(b)) {
            state = State.SPLICING;
            carry(splice, a, heldA);
            carry(splice, b, heldB);
            long idle = Math.min(idleMillis(a.pipeline()), idleMillis(b.pipeline()));
            splice.start(idle == Long.MAX_VALUE ? 0 : idle);
            return;
        }
        splice.discard();
        state = State.COPYING;
        List<Object> forA = List.copyOf(heldA);
        List<Object> forB = List.copyOf(heldB);
        heldA.clear();
        heldB.clear();
        back(a, relayA, forA);
        back(b, relayB, forB);
    }

    /**
     * Bytes and a FIN that arrived during the move go with it (the splice relay sends them first);
     * an error or a closed channel calls the move off, so the copy relay handles it as it always has.
     */
    private static boolean carriable(List<Object> held) {
        return held.stream().allMatch(e -> e instanceof ByteBuf || e instanceof ChannelInputShutdownEvent
                || e instanceof IdleStateEvent);
    }

    private static void carry(SpliceRelay splice, Channel from, List<Object> held) {
        for (Object e : held) {
            if (e instanceof ByteBuf bytes) {
                splice.carry(from, bytes);
            } else if (e instanceof ChannelInputShutdownEvent) {
                splice.finSeen(from);
            }
            // An IdleStateEvent needs nothing: the splice relay keeps the idle timeout from here on.
        }
        held.clear();
    }

    /** Open both ways on our side; the peer may have sent its FIN during the move (carried). */
    private static boolean live(Channel ch) {
        return ch.isActive() && ch instanceof DuplexChannel d && !d.isOutputShutdown();
    }

    /** Gives a channel back to Netty and its relay the events it missed, or a read when there were none. */
    private void back(Channel ch, Relay relay, List<Object> missed) {
        if (!ch.isOpen()) {
            missed.forEach(ReferenceCountUtil::release);
            return;
        }
        Runnable replay = () -> {
            if (missed.isEmpty()) {
                NextRead.ask(ch);
            } else {
                missed.forEach(relay::replay);
            }
        };
        if (ch.isRegistered()) {
            replay.run();
        } else {
            ch.eventLoop().register(ch).addListener(f -> {
                if (f.isSuccess()) {
                    replay.run();
                } else {
                    missed.forEach(ReferenceCountUtil::release);
                    ch.close();
                }
            });
        }
    }

    /**
     * The splice relay keeps the idle timeout from here on: the pipeline's handler would see no
     * byte and close a busy tunnel.
     */
    private static long idleMillis(ChannelPipeline p) {
        IdleStateHandler idle = p.get(IdleStateHandler.class);
        if (idle == null) {
            return Long.MAX_VALUE;
        }
        p.remove(idle);
        long ms = idle.getAllIdleTimeInMillis();
        return ms > 0 ? ms : Long.MAX_VALUE;
    }
}
