package dev.airlock.sandbox;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A sandbox's init, started ahead of its command (the warm pool's "running init process").
 *
 * <p>Design: the init is a bash loop-free script inside the finished sandbox (bubblewrap, user,
 * namespaces, cgroups and mounts already in place) that blocks reading its stdin. {@link #go}
 * writes the command's environment and argv there as NUL-terminated fields, and the script
 * {@code exec}s the command with exactly that environment ({@code env -i}). What follows the header
 * on stdin is the command's own stdin; its stdout and stderr are the init's. Claiming therefore
 * costs one pipe write and two {@code exec}s instead of a bubblewrap start. NUL cannot occur inside
 * an argument or an environment entry, so the framing cannot be confused by any value.
 */
public final class Standby {

    /**
     * Reads "count, entries…" twice (environment, then argv) and execs. Exit 125 when the header is
     * cut short (the daemon died mid-write): the command never starts half-configured.
     */
    static final String SCRIPT = String.join("\n",
            "set -f",
            "field() { IFS= read -r -d '' \"$1\" || exit 125; }",
            "field n; env=()",
            "for ((i = 0; i < n; i++)); do field v; env+=(\"$v\"); done",
            "field n; argv=()",
            "for ((i = 0; i < n; i++)); do field v; argv+=(\"$v\"); done",
            "cd /workspace || exit 125",
            "exec /usr/bin/env -i -- \"${env[@]}\" /bin/sh -c 'exec \"$@\"' airlock \"${argv[@]}\"");
    static final List<String> INIT = List.of("/bin/bash", "-c", SCRIPT, "airlock-init");

    private final PreparedSandbox sandbox;
    private final Process init;
    private boolean sent;

    Standby(PreparedSandbox sandbox, Process init) {
        this.sandbox = sandbox;
        this.init = init;
    }

    public PreparedSandbox sandbox() {
        return sandbox;
    }

    /** The init, and after {@link #go} the command: its stdin, stdout, stderr and exit code. */
    public Process process() {
        return init;
    }

    /**
     * Starts {@code command} with the sandbox's default environment overlaid by {@code env}. The
     * process's stdin stays open for the caller (close it to send EOF). Once only.
     */
    public synchronized void go(List<String> command, Map<String, String> env) throws SandboxException {
        if (sent) {
            throw new SandboxException("sandbox " + sandbox.id() + " already started its command. Fix: exec, or claim another sandbox.");
        }
        if (command.isEmpty()) {
            throw new SandboxException("no command to run. Fix: give a command after `--`.");
        }
        BwrapArgs.checkEnvironment(env);
        for (String a : command) {
            if (a.indexOf('\0') >= 0) {
                throw new SandboxException("an argument contains NUL. Fix: remove it; no program can receive it.");
            }
        }
        if (!init.isAlive()) {
            throw new SandboxException("sandbox " + sandbox.id() + ": its init exited (" + init.exitValue() + ") before the claim."
                    + " Fix: release it and claim another.");
        }
        sent = true;
        try {
            OutputStream out = init.getOutputStream();
            out.write(header(BwrapArgs.environment(env), command));
            out.flush();
        } catch (IOException e) {
            throw new SandboxException("sandbox " + sandbox.id() + ": cannot hand the command to its init: " + e.getMessage()
                    + ". Fix: release it and claim another.", e);
        }
    }

    /** The NUL-framed header {@link #SCRIPT} reads. */
    static byte[] header(Map<String, String> env, List<String> argv) {
        List<String> fields = new ArrayList<>();
        fields.add(Integer.toString(env.size()));
        env.forEach((k, v) -> fields.add(k + "=" + v));
        fields.add(Integer.toString(argv.size()));
        fields.addAll(argv);
        StringBuilder b = new StringBuilder();
        fields.forEach(f -> b.append(f).append('\0'));
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }
}
