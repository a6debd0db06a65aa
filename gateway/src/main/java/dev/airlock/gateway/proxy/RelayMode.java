package dev.airlock.gateway.proxy;

import io.netty.channel.epoll.Epoll;
import java.util.Optional;

/**
 * What the relay does with an allowed tunnel's bytes in this process, said once at start. A relay
 * that lost its native help still relays every byte, only slower, so nothing else would tell: no
 * epoll (a JVM that could not load Netty's library) means the copy relay, and pipes that cannot be
 * resized (JNA could not load libc's {@code fcntl}) move a sixteenth as much per splice call.
 *
 * @param line what the gateway prints beside its endpoints
 * @param degraded whether the relay runs below what its settings ask for
 */
public record RelayMode(String line, boolean degraded) {

    /** This process's relay, from its transport and the {@code airlock.relay.splice} settings. */
    public static RelayMode current() {
        return of(Transport.epoll() ? Optional.empty() : Optional.of(String.valueOf(Epoll.unavailabilityCause())),
                SpliceHandover.settings());
    }

    /**
     * @param noEpoll why epoll is not available, or empty when it is
     */
    static RelayMode of(Optional<String> noEpoll, SpliceSettings splice) {
        if (noEpoll.isPresent()) {
            return new RelayMode("copy, no splice: epoll is not available (" + noEpoll.get() + "). Fix: let Netty load its native"
                    + " library: the package loads it from /usr/lib/airlock/native; from a jar, give -Dio.netty.native.workdir a"
                    + " directory that allows exec", splice.on());
        }
        if (!splice.on()) {
            return new RelayMode("copy, no splice (-D" + SpliceHandover.PROPERTY + "=false)", false);
        }
        String after = "splice after " + bytes(splice.afterBytes());
        if (splice.pipeBytes() <= SplicePipe.DEFAULT_CAPACITY) {
            return new RelayMode(after + ", pipes of " + bytes(SplicePipe.DEFAULT_CAPACITY), false);
        }
        Optional<String> noResize = splice.sizing().unavailable();
        if (noResize.isPresent()) {
            return new RelayMode(after + ", pipes of " + bytes(SplicePipe.DEFAULT_CAPACITY) + ", not " + bytes(splice.pipeBytes())
                    + ": " + noResize.get() + ". Fix: let JNA load its native library: the package loads it from"
                    + " /usr/lib/airlock/native; from a jar, give -Djna.tmpdir a directory that allows exec", true);
        }
        return new RelayMode(after + ", pipes of up to " + bytes(splice.pipeBytes()), false);
    }

    private static String bytes(long n) {
        if (n >= 1 << 20 && n % (1 << 20) == 0) {
            return (n >> 20) + " MiB";
        }
        if (n >= 1 << 10 && n % (1 << 10) == 0) {
            return (n >> 10) + " KiB";
        }
        return n + " bytes";
    }
}
