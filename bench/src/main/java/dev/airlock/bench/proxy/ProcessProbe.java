package dev.airlock.bench.proxy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a proxy process's memory from outside: resident set and thread count from
 * {@code /proc/PID/status} for every proxy, and for a JVM the live heap after a full collection
 * ({@code jcmd PID GC.run}, then {@code GC.heap_info}).
 */
final class ProcessProbe {

    /** jcmd attaches through a socket file; a busy JVM may take a while to answer. */
    private static final long JCMD_TIMEOUT_SECONDS = 60;
    /** The first heap line of GC.heap_info: "... heap total reserved 6172672K, committed 262144K, used 18432K [...". */
    private static final Pattern HEAP = Pattern.compile("committed (\\d+)K, used (\\d+)K");

    /** USER_HZ: 100 on every Linux architecture the harness runs on (x86-64, arm64). */
    static final int TICKS_PER_SECOND = 100;

    /** Heap after a full GC, in KiB. */
    record Heap(long usedKiB, long committedKiB) {
    }

    private final long pid;
    private final Optional<Path> jcmd;

    /** @param jcmd the jcmd of the JDK the proxy runs on; empty for a native proxy */
    ProcessProbe(long pid, Optional<Path> jcmd) {
        this.pid = pid;
        this.jcmd = jcmd;
    }

    boolean alive() {
        return Files.exists(Path.of("/proc", Long.toString(pid)));
    }

    long rssKiB() throws IOException {
        return statusField("VmRSS");
    }

    long threads() throws IOException {
        return statusField("Threads");
    }

    long openFiles() throws IOException {
        try (var s = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return s.count();
        }
    }

    /**
     * CPU time the process (all its threads) has used so far, in seconds: utime + stime from
     * {@code /proc/PID/stat}, in clock ticks of {@link #TICKS_PER_SECOND}.
     */
    double cpuSeconds() throws IOException {
        return cpuSeconds(Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII));
    }

    /** utime + stime of one {@code /proc/PID/stat} line, in seconds. */
    static double cpuSeconds(String stat) {
        // The command name (field 2) may contain spaces and parentheses; the fields after its last
        // ')' start at field 3 (state), so utime (field 14) and stime (15) are at 11 and 12.
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / (double) TICKS_PER_SECOND;
    }

    private long statusField(String name) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"), StandardCharsets.UTF_8)) {
            if (line.startsWith(name + ":")) {
                return Long.parseLong(line.substring(name.length() + 1).trim().split("\\s+")[0]);
            }
        }
        throw new IOException("/proc/" + pid + "/status has no " + name);
    }

    /** Runs a full GC in the proxy, then reads its heap; empty for a process that is not a JVM. */
    Optional<Heap> heapAfterFullGc() throws IOException, InterruptedException {
        if (jcmd.isEmpty()) {
            return Optional.empty();
        }
        run("GC.run");
        String info = run("GC.heap_info");
        Matcher m = HEAP.matcher(info);
        if (!m.find()) {
            throw new IOException("could not read the heap from jcmd GC.heap_info:\n" + info);
        }
        return Optional.of(new Heap(Long.parseLong(m.group(2)), Long.parseLong(m.group(1))));
    }

    private String run(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(jcmd.get().toString(), Long.toString(pid), command))
                .redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(JCMD_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("jcmd " + command + " did not finish in " + JCMD_TIMEOUT_SECONDS + " s");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException("jcmd " + pid + " " + command + " failed: " + text);
        }
        return text;
    }
}
