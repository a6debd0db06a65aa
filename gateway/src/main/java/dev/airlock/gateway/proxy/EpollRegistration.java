package dev.airlock.gateway.proxy;

import io.netty.channel.Channel;
import io.netty.channel.epoll.Native;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * Works around a bug of Netty 4.2.18's epoll transport (the newest whose native files the
 * registries here serve): when a channel's interest set becomes empty, its registration removes
 * the socket from the epoll set but still believes it added, so the next interest (a
 * {@code read()}) fails with {@code epoll_ctl(..) ... No such file or directory} and the channel is
 * closed with what was still unread in it. The interest set empties when the peer's FIN has been
 * seen while the channel is not reading: exactly an origin that closes after its answer (the
 * gateway asks every HTTP origin for {@code Connection: close}) while a slow client holds the
 * gateway back. Keeping EPOLLERR in the set (which the kernel reports anyway) means it never
 * empties.
 *
 * <p>Only for channels whose own output the gateway never shuts down: with both directions shut
 * the kernel reports EPOLLHUP, which Netty does not handle, and level-triggered it would repeat
 * until the channel reads again. (An explicit-proxy upstream that a 101 answer turns into a relay
 * may still see that: only when the client half-closes, the origin closes too and the relay is
 * paused, and only until it reads again.)
 */
final class EpollRegistration {

    private static final Method SET_FLAG = setFlag();

    private EpollRegistration() {
    }

    /** Keeps {@code ch} (registered, on epoll) in its loop's epoll set for as long as it is open. */
    static void keepInEpollSet(Channel ch) {
        if (SET_FLAG == null || !SET_FLAG.getDeclaringClass().isInstance(ch) || !ch.isRegistered()) {
            return;
        }
        try {
            SET_FLAG.invoke(ch, Native.EPOLLERR);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        } catch (InvocationTargetException e) {
            // the socket is gone already: the channel's own close reports it
        }
    }

    private static Method setFlag() {
        try {
            Method m = Class.forName("io.netty.channel.epoll.AbstractEpollChannel").getDeclaredMethod("setFlag", int.class);
            m.setAccessible(true);
            return m;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return null; // no epoll here (NIO), or a Netty without this method
        }
    }
}
