package dev.airlock.gateway.kernel;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Running the commands of kernel tests: every one bounded by a timeout, its output captured, and
 * ended only through its own {@link Process} handle. Clients get no proxy variables, so they go
 * exactly where the test sends them.
 */
final class Commands {

    private Commands() {
    }

    /** Ends a process started here, and its descendants, by their PIDs (never by name). */
    static void stop(Process p) {
        List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
        tree.add(p.toHandle());
        tree.forEach(ProcessHandle::destroy);
        for (ProcessHandle h : tree) {
            try {
                h.onExit().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                h.destroyForcibly();
            }
        }
    }

    static Pending run(Duration timeout, String... argv) {
        ProcessBuilder pb = new ProcessBuilder(argv);
        // No proxy variables: every client must go where the test says, and the kernel decides.
        for (String v : List.of("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                "ALL_PROXY", "NO_PROXY")) {
            pb.environment().remove(v);
        }
        pb.environment().put("LC_ALL", "C");
        try {
            return new Pending(pb.start(), timeout, String.join(" ", argv));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + String.join(" ", argv), e);
        }
    }

    /** A started command: optional stdin, then {@link #await()} for its result. */
    static final class Pending {
        final Process process;
        private final Duration timeout;
        private final String command;
        private String stdin = "";

        Pending(Process process, Duration timeout, String command) {
            this.process = process;
            this.timeout = timeout;
            this.command = command;
        }

        Pending stdin(String text) {
            this.stdin = text;
            return this;
        }

        /** Waits up to the timeout; a command still running then is ended and reported as timed out. */
        Result await() {
            CompletableFuture<String> out = drain(process.getInputStream());
            CompletableFuture<String> err = drain(process.getErrorStream());
            try {
                process.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
                process.getOutputStream().close();
            } catch (IOException e) {
                // the command did not read its input; its result says why
            }
            boolean done;
            try {
                done = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                done = false;
            }
            if (!done) {
                stop(process);
            }
            return new Result(command, done ? process.exitValue() : -1, !done, out.join(), err.join());
        }

        private static CompletableFuture<String> drain(InputStream in) {
            return CompletableFuture.supplyAsync(() -> {
                try (in) {
                    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    return "";
                }
            });
        }
    }

    /** What a command did. {@code exit} is -1 when it was ended for running past its timeout. */
    record Result(String command, int exit, boolean timedOut, String out, String err) {
        boolean ok() {
            return exit == 0;
        }

        @Override
        public String toString() {
            return "`" + command + "` " + (timedOut ? "timed out" : "exited " + exit) + (out.isBlank() ? "" : "; stdout: " + out.strip())
                    + (err.isBlank() ? "" : "; stderr: " + err.strip());
        }
    }

    /**
     * A long-lived process (an origin server): its stdout lines are collected; its stdin stays open
     * until {@link #close()}, and the process is written to exit when stdin closes.
     */
    static final class Daemon implements AutoCloseable {
        private final Process process;
        private final Runnable onClose;
        private final List<String> lines = new CopyOnWriteArrayList<>();
        private final StringBuilder err = new StringBuilder();

        Daemon(Process process, Runnable onClose) {
            this.process = process;
            this.onClose = onClose;
            Thread out = new Thread(() -> collect(process.getInputStream(), lines::add), "alk-daemon-out");
            out.setDaemon(true);
            out.start();
            Thread e = new Thread(() -> collect(process.getErrorStream(), l -> {
                synchronized (err) {
                    err.append(l).append('\n');
                }
            }), "alk-daemon-err");
            e.setDaemon(true);
            e.start();
        }

        private static void collect(InputStream in, Consumer<String> sink) {
            try (var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    sink.accept(l);
                }
            } catch (IOException e) {
                // the process ended
            }
        }

        List<String> lines() {
            return List.copyOf(lines);
        }

        long count(Predicate<String> p) {
            return lines.stream().filter(p).count();
        }

        /** Waits (bounded) until at least {@code n} lines match. */
        void awaitCount(Predicate<String> p, long n, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (count(p) < n && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            if (count(p) < n) {
                throw new AssertionError("fewer than " + n + " matching lines within " + timeout + "; stdout: " + lines);
            }
        }

        /** Waits (bounded) until a line matches; fails with everything the process said otherwise. */
        String await(Predicate<String> p, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                Optional<String> hit = lines.stream().filter(p).findFirst();
                if (hit.isPresent()) {
                    return hit.get();
                }
                if (!process.isAlive() && lines.stream().noneMatch(p)) {
                    break;
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            synchronized (err) {
                throw new AssertionError("no matching line within " + timeout + " (alive: " + process.isAlive() + ")\nstdout: "
                        + lines + "\nstderr: " + err);
            }
        }

        @Override
        public void close() {
            try {
                process.getOutputStream().close();
            } catch (IOException e) {
                // already gone
            }
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    stop(process);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stop(process);
            }
            onClose.run();
        }
    }
}
