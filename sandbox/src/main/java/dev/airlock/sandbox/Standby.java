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
     * Reads "count, entries…" twice (environment, then argv), then the terminal (empty: none), and
     * execs. Exit 125 when the header is cut short (the daemon died mid-write): the command never
     * starts half-configured.
     *
     * <p>With a terminal ({@code /dev/pts/N} of the sandbox's own devpts, {@link Pty}) it becomes
     * stdin, stdout and stderr, and {@code setsid --ctty} makes it the command's controlling
     * terminal in a session of its own: bubblewrap's {@code --new-session} made its pid 1 the
     * session leader, so this process (pid 2, not a group leader) can start a new session without
     * a fork, and job control, ^C and SIGWINCH work as on any terminal.
     */
    static final String SCRIPT = String.join("\n",
            "set -f",
            // The command starts with every signal at its default, whatever the daemon inherited: a daemon
            // started with `&` from a script ignores SIGINT, and ^C would then interrupt nothing inside.
            // Probed while the init waits (coreutils 8.31+), so the claim pays nothing for it.
            "defsig=(); /usr/bin/env --default-signal true 2>/dev/null && defsig=(--default-signal)",
            "field() { IFS= read -r -d '' \"$1\" || exit 125; }",
            "field n; env=()",
            "for ((i = 0; i < n; i++)); do field v; env+=(\"$v\"); done",
            "field n; argv=()",
            "for ((i = 0; i < n; i++)); do field v; argv+=(\"$v\"); done",
            "field tty; session=()",
            "if [ -n \"$tty\" ]; then exec 0<>\"$tty\" 1>&0 2>&0 || exit 125; session=(/usr/bin/setsid --ctty --wait); fi",
            "cd /workspace || exit 125",
            // env execs the command itself (127 not found, 126 not runnable, as `exec "$@"` in sh), one exec less on every
            // claim; PWD as sh would set it. A command whose name has "=" env would take for a variable: through sh.
            "if [[ ${argv[0]} == *=* ]]; then argv=(/bin/sh -c 'exec \"$@\"' airlock \"${argv[@]}\"); fi",
            "exec \"${session[@]}\" /usr/bin/env -i \"${defsig[@]}\" -- \"${env[@]}\" PWD=/workspace \"${argv[@]}\"");
    /** A terminal the init may open: one of the sandbox's own devpts. */
    private static final java.util.regex.Pattern TERMINAL = java.util.regex.Pattern.compile("/dev/pts/[0-9]{1,9}");
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
        go(command, env, "");
    }

    /**
     * As {@link #go}, with {@code terminal} (a {@link Pty} of this sandbox, made by
     * {@link SandboxLauncher#terminal}) as the command's stdio and controlling terminal; the
     * process's own pipes then carry nothing.
     */
    public synchronized void go(List<String> command, Map<String, String> env, Pty terminal) throws SandboxException {
        go(command, env, terminal.path());
    }

    private void go(List<String> command, Map<String, String> env, String terminal) throws SandboxException {
        if (!terminal.isEmpty() && !TERMINAL.matcher(terminal).matches()) {
            throw new SandboxException("refused terminal " + terminal + ": only /dev/pts/N. This is a bug in the caller.");
        }
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
            out.write(header(BwrapArgs.environment(env), command, terminal));
            out.flush();
        } catch (IOException e) {
            throw new SandboxException("sandbox " + sandbox.id() + ": cannot hand the command to its init: " + e.getMessage()
                    + ". Fix: release it and claim another.", e);
        }
    }

    /** The NUL-framed header {@link #SCRIPT} reads ({@code terminal}: empty for none). */
    static byte[] header(Map<String, String> env, List<String> argv, String terminal) {
        List<String> fields = new ArrayList<>();
        fields.add(Integer.toString(env.size()));
        env.forEach((k, v) -> fields.add(k + "=" + v));
        fields.add(Integer.toString(argv.size()));
        fields.addAll(argv);
        fields.add(terminal);
        StringBuilder b = new StringBuilder();
        fields.forEach(f -> b.append(f).append('\0'));
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }
}
