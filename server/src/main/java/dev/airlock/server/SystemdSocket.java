package dev.airlock.server;

import java.io.IOException;
import java.util.Map;
import java.util.Optional;

/**
 * The listening socket systemd handed this process (socket activation: {@code airlock.socket},
 * sd_listen_fds(3)): the daemon serves it instead of binding its own, so that a connection made
 * before the daemon runs starts it and waits, instead of failing.
 *
 * <p>The protocol: {@code LISTEN_PID} names the process the sockets are for (a child that
 * inherited the variables is not it), {@code LISTEN_FDS} counts them, and they start at file
 * descriptor 3. The daemon serves exactly one; any other count is a unit that does not match it,
 * refused rather than guessed at. Where the socket lives is checked at its use ({@link ApiServer}).
 */
record SystemdSocket(int fd) {

    /** SD_LISTEN_FDS_START: the first passed descriptor. */
    static final int FIRST_FD = 3;

    /** The socket passed to process {@code pid} in {@code env}; empty when none was (the daemon binds its own). */
    static Optional<SystemdSocket> passed(Map<String, String> env, long pid) throws IOException {
        String fds = env.get("LISTEN_FDS");
        String forPid = env.get("LISTEN_PID");
        if (fds == null || forPid == null || !forPid.equals(Long.toString(pid))) {
            return Optional.empty();
        }
        if (!fds.equals("1")) {
            throw new IOException("systemd passed the daemon LISTEN_FDS=" + fds + " sockets; it serves exactly one."
                    + " Fix: give airlock.socket one ListenStream= (the daemon's socket), and no other socket unit for airlock.service.");
        }
        return Optional.of(new SystemdSocket(FIRST_FD));
    }
}
