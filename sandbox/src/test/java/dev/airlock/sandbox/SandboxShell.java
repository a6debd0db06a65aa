package dev.airlock.sandbox;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A shell running inside a sandbox (its one command), driven by the test line by line: a sandbox
 * runs one command, and a test that changes the kernel between steps needs several. Each
 * {@link #exec} sends one line and waits (bounded) for its output and status.
 */
final class SandboxShell implements AutoCloseable {

    private static final String LOOP = "while IFS= read -r line; do (eval \"$line\") 2>&1; echo \"__done $?\"; done";

    private final Process process;
    private final OutputStream in;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    SandboxShell(SandboxLauncher launcher, PreparedSandbox p) throws SandboxException {
        this.process = launcher.claim(p, List.of("/bin/sh", "-c", LOOP), Map.of(), ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.DISCARD);
        this.in = process.getOutputStream();
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    lines.add(l);
                }
            } catch (IOException e) {
                // the shell ended
            }
            lines.add("__done eof");
        }, "sandbox-shell-out");
        t.setDaemon(true);
        t.start();
    }

    record Result(int exit, String out) {
    }

    Result exec(String command, Duration timeout) throws IOException, InterruptedException {
        in.write((command + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
        StringBuilder out = new StringBuilder();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String l = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (l == null) {
                throw new AssertionError("no answer from the sandbox within " + timeout + " to: " + command + "\nso far: " + out);
            }
            if (l.startsWith("__done ")) {
                String status = l.substring(7);
                if (status.equals("eof")) {
                    throw new AssertionError("the sandbox shell ended while running: " + command + "\noutput: " + out);
                }
                return new Result(Integer.parseInt(status), out.toString());
            }
            out.append(l).append('\n');
        }
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            // already gone
        }
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
