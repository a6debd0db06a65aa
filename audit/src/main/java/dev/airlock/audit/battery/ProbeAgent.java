package dev.airlock.audit.battery;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The host side of agent.sh: sends one probe id, waits (bounded) for its {@code @@probe} line.
 * Lines that are not the agent's (a probe cannot write to the agent's stdout, but bash itself may)
 * are kept as noise for the report.
 */
final class ProbeAgent implements AutoCloseable {

    /** The agent bounds each probe at 25 s; this adds room for the agent itself. */
    static final Duration PER_PROBE = Duration.ofSeconds(40);

    private final Process process;
    private final OutputStream in;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> noise = new ArrayList<>();

    ProbeAgent(Process process) {
        this.process = process;
        this.in = process.getOutputStream();
        Thread.ofPlatform().daemon().name("airlock-audit-agent").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l = r.readLine(); l != null; l = r.readLine()) {
                    lines.add(l);
                }
            } catch (IOException e) {
                // the agent ended
            }
            lines.add("@@eof");
        });
    }

    /** Waits for the agent's first line. */
    void awaitReady(Duration timeout) throws AuditException, InterruptedException {
        String l = next(timeout);
        if (!"@@ready".equals(l)) {
            throw new AuditException("the audit agent did not start in the sandbox (" + (l == null ? "no answer within " + timeout : l)
                    + (noise.isEmpty() ? "" : "; output: " + String.join(" | ", noise)) + stderr() + ")");
        }
    }

    /** What an agent that already ended wrote to stderr (bash's own words: a missing tool, a bad library), bounded. */
    private String stderr() {
        try {
            if (!process.waitFor(1, TimeUnit.SECONDS)) {
                return "";
            }
            String err = new String(process.getErrorStream().readNBytes(2000), StandardCharsets.UTF_8).strip();
            return err.isEmpty() ? "" : "; stderr: " + err;
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /** Runs one probe file; its outcome, or {@link Outcome#lost} when the agent did not answer. */
    Outcome run(String fileName) throws InterruptedException {
        try {
            in.write((fileName + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        } catch (IOException e) {
            return Outcome.lost("the agent is gone: " + e.getMessage());
        }
        long deadline = System.nanoTime() + PER_PROBE.toNanos();
        while (true) {
            String l = next(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            if (l == null) {
                return Outcome.lost("no answer from the agent within " + PER_PROBE.toSeconds() + " s");
            }
            if (l.equals("@@eof")) {
                lines.add(l);
                return Outcome.lost("the agent ended (exit " + exit() + ")");
            }
            String prefix = "@@probe " + fileName + " ";
            if (l.startsWith(prefix)) {
                String[] f = l.substring(prefix.length()).split(" ", 2);
                int exit = Integer.parseInt(f[0]);
                String out = f.length > 1 ? new String(Base64.getDecoder().decode(f[1].strip()), StandardCharsets.UTF_8) : "";
                return Outcome.parse(exit, out);
            }
            noise.add(l);
        }
    }

    private String exit() {
        try {
            return process.waitFor(1, TimeUnit.SECONDS) ? Integer.toString(process.exitValue()) : "still running";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }

    private String next(Duration timeout) throws InterruptedException {
        return lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        try {
            in.write("@quit\n".getBytes(StandardCharsets.UTF_8));
            in.close();
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            // already gone
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }
}
