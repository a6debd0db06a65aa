package dev.airlock.pool.template;

import java.util.Map;

/**
 * The environment root's git runs in: nothing of the caller's, no system or global config, no
 * prompt, and only the transport protocols named. A repository's own config still applies, so
 * callers add what must not (hooks, fsmonitor) on the command line.
 */
public final class GitEnvironment {

    private GitEnvironment() {
    }

    /** Replaces {@code env} (a ProcessBuilder's) with git's closed environment allowing {@code protocols} (colon-separated). */
    public static void isolate(Map<String, String> env, String protocols) {
        env.clear();
        env.put("PATH", "/usr/bin:/bin");
        env.put("LC_ALL", "C");
        env.put("HOME", "/nonexistent");
        env.put("GIT_CONFIG_NOSYSTEM", "1");
        env.put("GIT_CONFIG_GLOBAL", "/dev/null");
        env.put("GIT_TERMINAL_PROMPT", "0");
        env.put("GIT_ALLOW_PROTOCOL", protocols);
    }
}
