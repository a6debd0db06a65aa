package dev.airlock.runtime;

import dev.airlock.sandbox.SandboxUser;
import java.util.Map;
import java.util.Optional;

/**
 * Who a sandbox's processes run as outside its user namespace, when the one who asks for the run
 * is not the process that prepares it: the daemon's run of a policy it does not pool runs as its
 * caller's sudo user ({@code SUDO_UID}/{@code SUDO_GID} of the client), as that caller's own cold
 * run would, so that files the command writes in the caller's directory stay the caller's. Never
 * uid or gid 0 (see {@link SandboxUser}).
 */
public record RunAs(int uid, int gid) {

    public RunAs {
        if (uid <= 0 || gid <= 0) {
            throw new IllegalArgumentException("a sandbox never runs as uid or gid 0 (nor a negative one): " + uid + "/" + gid);
        }
    }

    /** nobody (65534): a run whose caller named no sudo user, as a cold run without SUDO_UID. */
    public static RunAs nobody() {
        return new RunAs(SandboxUser.NOBODY, SandboxUser.NOBODY);
    }

    /**
     * The sudo user {@code env} names, by {@link SandboxUser#fromEnvironment}'s rule (positive
     * decimal SUDO_UID and SUDO_GID); empty when it names none (then the run is nobody's).
     */
    public static Optional<RunAs> sudoCaller(Map<String, String> env) {
        SandboxUser u = SandboxUser.fromEnvironment(env);
        if (u.uid() == SandboxUser.NOBODY && u.gid() == SandboxUser.NOBODY) {
            return Optional.empty();
        }
        return Optional.of(new RunAs(u.uid(), u.gid()));
    }

    SandboxUser sandboxUser() {
        return new SandboxUser(uid, gid);
    }
}
