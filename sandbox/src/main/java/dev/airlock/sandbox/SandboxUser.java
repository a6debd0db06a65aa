package dev.airlock.sandbox;

import java.util.Map;

/**
 * The uid and gid a sandbox's processes run as: the user who ran {@code sudo airlock}
 * ({@code SUDO_UID}/{@code SUDO_GID}), so that files in their workspace stay theirs, else nobody
 * (65534). Never 0: a sandbox that ran as root outside its user namespace could read every
 * root-owned file it can see.
 */
public record SandboxUser(int uid, int gid) {

    /** nobody: who a sandbox runs as when no SUDO_UID says who called sudo. */
    public static final int NOBODY = 65534;
    /** The name the sandbox's /etc/passwd gives the user, whatever the host calls them. */
    public static final String NAME = "airlock";

    public SandboxUser {
        if (uid <= 0 || gid <= 0) {
            throw new IllegalArgumentException("a sandbox never runs as uid or gid 0: " + uid + "/" + gid);
        }
    }

    /** The sandbox user of this process's environment ({@code sudo}'s caller, else nobody). */
    public static SandboxUser current() {
        return fromEnvironment(System.getenv());
    }

    /** The sandbox user of {@code env}: its positive decimal SUDO_UID and SUDO_GID, else nobody. */
    public static SandboxUser fromEnvironment(Map<String, String> env) {
        int uid = positive(env.get("SUDO_UID"));
        int gid = positive(env.get("SUDO_GID"));
        if (uid > 0 && gid > 0) {
            return new SandboxUser(uid, gid);
        }
        return new SandboxUser(NOBODY, NOBODY);
    }

    private static int positive(String s) {
        if (s == null || !s.matches("[0-9]{1,9}")) {
            return -1;
        }
        int v = Integer.parseInt(s);
        return v > 0 ? v : -1;
    }
}
