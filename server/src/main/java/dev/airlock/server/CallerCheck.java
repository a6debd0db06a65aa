package dev.airlock.server;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import java.io.IOException;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Who may have the daemon run a policy it does not pool ({@link ColdRuns}): root alone, on the unix
 * socket, by the kernel's word (SO_PEERCRED: the uid of the process that connected).
 *
 * <p>Why root alone: such a run reads a policy file the caller names and binds a directory the caller
 * names read-write at /workspace, and the daemon does both as root. For root that gives nothing a
 * cold {@code sudo airlock run} does not. For anyone else it would let them read, through a sandbox,
 * any directory root can. The socket is root's and 0600 already; this is the check again at the
 * privileged point, so a socket later opened to a group (a wider {@code SocketMode}, a chmod) does
 * not open this path with it. Opening it to a group would need the daemon to open the policy and the
 * workspace with the caller's credentials (SO_PEERCRED's uid and gids: in a process switched to
 * them, or as descriptors the client passes with SCM_RIGHTS), and the sandbox to run as that uid,
 * never root's reading on the caller's behalf. The TCP listener (a bearer token, maybe another
 * machine) never serves it: the directory named is on this host, the caller may not be.
 */
final class CallerCheck {

    private CallerCheck() {
    }

    /** Why the caller on {@code ch} may not run an unpooled policy; empty: it may. Fails closed. */
    static Optional<String> refusal(Channel ch) {
        if (!(ch instanceof EpollDomainSocketChannel unix)) {
            return refusal(OptionalInt.empty(), "it did not come over the unix socket (the TCP listener never serves it)");
        }
        try {
            return refusal(OptionalInt.of(unix.peerCredentials().uid()), "");
        } catch (IOException | RuntimeException e) {
            return refusal(OptionalInt.empty(), "the kernel did not say who connected (" + e.getMessage() + ")");
        }
    }

    /** The decision: {@code uid} of the peer when known, else {@code why} it is not. */
    static Optional<String> refusal(OptionalInt uid, String why) {
        if (uid.isPresent() && uid.getAsInt() == 0) {
            return Optional.empty();
        }
        String who = uid.isPresent() ? "uid " + uid.getAsInt() : "an unknown caller: " + why;
        return Optional.of("the daemon runs a policy it does not pool only for root on its unix socket, and this request is from " + who
                + ". Fix: run as root (sudo airlock run), pool the project in the daemon's configuration, or run with --no-daemon.");
    }
}
