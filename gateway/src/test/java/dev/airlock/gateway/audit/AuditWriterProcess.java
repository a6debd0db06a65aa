package dev.airlock.gateway.audit;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A writer in a JVM of its own, for the tests of concurrent writers: opens the log, submits
 * {@code count} decisions named {@code <tag>-<i>.example}, closes it, and exits 0; on any failure
 * it prints why and exits 1. Started by {@link #start}.
 */
final class AuditWriterProcess {

    private AuditWriterProcess() {
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        String tag = args[1];
        int count = Integer.parseInt(args[2]);
        AuditLog log = AuditLog.open(file, Clock.systemUTC());
        for (int i = 0; i < count; i++) {
            while (!log.submit(AuditFixtures.allow(tag + "-" + i + ".example"))) {
                if (!log.healthy()) {
                    System.err.println("audit log failed after " + i + " records");
                    System.exit(1);
                }
                Thread.sleep(1); // the queue is full: wait for the writer rather than lose the record
            }
        }
        log.close();
        System.exit(log.healthy() ? 0 : 1);
    }

    /** Starts a writer JVM with this JVM's java and class path; its output goes to {@code output}. */
    static Process start(Path file, String tag, int count, Path output) throws Exception {
        return start(List.of(), file, tag, count, output);
    }

    /**
     * As {@link #start(Path, String, int, Path)}, but the writer may not make any file larger than
     * {@code kib} KiB ({@code ulimit -f}): a write past it fails part-way, as on a full disk.
     */
    static Process startWithFileSizeLimit(int kib, Path file, String tag, int count, Path output) throws Exception {
        return start(List.of("bash", "-c", "ulimit -f " + kib + " && exec \"$0\" \"$@\""), file, tag, count, output);
    }

    private static Process start(List<String> prefix, Path file, String tag, int count, Path output) throws Exception {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(AuditWriterProcess.class.getName());
        cmd.add(file.toString());
        cmd.add(tag);
        cmd.add(Integer.toString(count));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
    }

    /** Waits for a writer started by {@link #start}; a hung one is killed and fails the test. */
    static int await(Process p) throws InterruptedException {
        if (!p.waitFor(AuditFixtures.GUARD_SECONDS * 4, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("a writer process hung (test guard)");
        }
        return p.exitValue();
    }
}
