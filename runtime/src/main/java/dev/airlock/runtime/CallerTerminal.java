package dev.airlock.runtime;

import dev.airlock.sandbox.WindowSize;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The caller's terminal while a sandboxed command runs on a terminal of its own: raw (every key,
 * ^C included, goes to the command, whose terminal turns it into a signal), no local echo, and its
 * size followed on SIGWINCH. {@link #close} restores the settings; a shutdown hook restores them
 * when this JVM is ended by a signal (SIGTERM, SIGHUP, SIGINT). Only SIGKILL leaves the terminal raw
 * ({@code stty sane} or {@code reset} repairs it).
 *
 * <p>Through {@code stty} (coreutils), on fd 0: no native code in the client, whose start a pooled
 * run waits for.
 */
public final class CallerTerminal implements AutoCloseable {

    private static final String STTY = Files.isExecutable(Path.of("/usr/bin/stty")) ? "/usr/bin/stty" : "/bin/stty";

    private final String saved;
    private volatile WindowSize size;
    private final List<Consumer<WindowSize>> listeners = new CopyOnWriteArrayList<>();
    private final Thread restoreOnExit;
    private boolean restored;

    private CallerTerminal(String saved, WindowSize size) {
        this.saved = saved;
        this.size = size;
        this.restoreOnExit = new Thread(this::restore, "airlock-terminal-restore");
    }

    /** True when this JVM's stdin is a terminal. */
    public static boolean stdinIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/0")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** When stdin is a terminal: its settings saved, then raw; else empty (the command gets pipes). */
    public static Optional<CallerTerminal> rawIfTerminal() throws IOException {
        if (!stdinIsTerminal()) {
            return Optional.empty();
        }
        List<String> out = stty(List.of("-g"), List.of("size"), List.of("raw", "-echo"));
        CallerTerminal t = new CallerTerminal(out.get(0), parseSize(out.size() > 1 ? out.get(1) : ""));
        Runtime.getRuntime().addShutdownHook(t.restoreOnExit);
        t.followResizes();
        return Optional.of(t);
    }

    /** {@code stty size}'s "ROWS COLS"; {@link WindowSize#DEFAULT} when the terminal reports 0 or nothing. */
    static WindowSize parseSize(String text) {
        String[] p = text.trim().split("\\s+");
        try {
            if (p.length == 2 && Integer.parseInt(p[0]) > 0 && Integer.parseInt(p[1]) > 0) {
                return new WindowSize(Integer.parseInt(p[0]), Integer.parseInt(p[1]));
            }
        } catch (IllegalArgumentException e) {
            // not a size
        }
        return WindowSize.DEFAULT;
    }

    public WindowSize size() {
        return size;
    }

    /** {@code listener} gets the new size after every SIGWINCH that changed it. */
    public void onResize(Consumer<WindowSize> listener) {
        listeners.add(listener);
    }

    /**
     * Java's only SIGWINCH hook is {@code sun.misc.Signal} (module jdk.unsupported). It is reached
     * reflectively, as JLine does: compiled against {@code --release 21}, every direct use draws a
     * "proprietary API" warning that no lint option silences, and the build runs with -Werror.
     */
    private void followResizes() {
        try {
            Class<?> signal = Class.forName("sun.misc.Signal");
            Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
            Object handler = Proxy.newProxyInstance(handlerType.getClassLoader(), new Class<?>[] {handlerType},
                    (proxy, method, args) -> switch (method.getName()) {
                        case "handle" -> {
                            Thread.ofPlatform().daemon().start(this::resized);
                            yield null;
                        }
                        case "hashCode" -> System.identityHashCode(proxy);
                        case "equals" -> proxy == args[0];
                        default -> "SIGWINCH handler";
                    });
            signal.getMethod("handle", signal, handlerType).invoke(null, signal.getConstructor(String.class).newInstance("WINCH"), handler);
        } catch (ReflectiveOperationException | IllegalArgumentException | LinkageError e) {
            // this JVM does not let SIGWINCH be handled: the size stays the one at the start
        }
    }

    private synchronized void resized() {
        try {
            WindowSize now = parseSize(stty(List.of("size")).get(0));
            if (!now.equals(size)) {
                size = now;
                listeners.forEach(l -> l.accept(now));
            }
        } catch (IOException | IndexOutOfBoundsException e) {
            // the terminal is gone: nothing to follow
        }
    }

    /** Restores the terminal's settings (idempotent). */
    @Override
    public void close() {
        restore();
        try {
            Runtime.getRuntime().removeShutdownHook(restoreOnExit);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs (or ran) anyway
        }
    }

    private synchronized void restore() {
        if (restored) {
            return;
        }
        restored = true;
        try {
            stty(List.of(saved));
        } catch (IOException e) {
            System.err.println("airlock: could not restore the terminal (" + e.getMessage() + "). Fix: run `stty sane`.");
        }
    }

    /** Runs stty once per argument list, on this JVM's stdin, in one shell; the output lines of all. */
    private static List<String> stty(List<?>... calls) throws IOException {
        StringBuilder script = new StringBuilder();
        List<String> argv = new java.util.ArrayList<>(List.of("/bin/sh", "-c", "", "airlock-stty"));
        int n = 0;
        for (List<?> call : calls) {
            script.append(script.isEmpty() ? "" : " && ").append(STTY);
            for (Object a : call) {
                argv.add(a.toString());
                script.append(" \"${").append(++n).append("}\"");
            }
        }
        argv.set(2, script.toString());
        Process p = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) {
                throw new IOException("stty failed (exit " + p.exitValue() + ")");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running stty", e);
        }
        return out.lines().toList();
    }
}
