package dev.airlock.bench.proxy;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The results file (one {@code subject TAB key TAB value} line per number, appended by each
 * {@code measure} run) and the comparison table printed from it at the end of a run.
 */
final class Report {

    /** The proxy the goals are about. */
    private static final String SUBJECT = "airlock";
    /** What Airlock is compared with, each in its own ratio column when it was measured (issue 13's goals name all four). */
    private static final String SQUID = "squid";
    private static final String TINYPROXY = "tinyproxy";
    private static final String DIRECT = "direct";
    /** HAProxy as a plain TCP relay with splice: the ceiling of a user-space relay on this machine, not a proxy. */
    private static final String HAPROXY = "haproxy";
    private static final List<String> REFERENCES = List.of(SQUID, TINYPROXY, HAPROXY, DIRECT);
    private static final Map<String, String> DISPLAY = Map.of(SQUID, "Squid", TINYPROXY, "tinyproxy", HAPROXY, "HAProxy",
            DIRECT, "direct");
    /** Airlock with its tunnel limits raised: {@code airlock gateway} holds at most 512 tunnels. */
    private static final String IDLE_SUBJECT = "airlock-raised";

    // Keys of the results file.
    static final String ROUTE = "route";
    static final String TPUT_1 = "tput1_mibs";
    static final String TPUT_4 = "tput4_mibs";
    static final String TPUT_1_CPU = "tput1_proxy_cores";
    static final String TPUT_4_CPU = "tput4_proxy_cores";
    static final String RATE_CPU_US = "rate_proxy_cpu_us";
    static final String RATE = "rate_per_s";
    static final String ECHO_P50 = "rate_echo_p50_ms";
    static final String ECHO_P99 = "rate_echo_p99_ms";
    static final String ECHO_P999 = "rate_echo_p999_ms";
    static final String STATUS_P50 = "rate_200_p50_ms";
    static final String STATUS_P99 = "rate_200_p99_ms";
    static final String RATE_FAILED = "rate_failed";
    static final String RATE_ERRORS = "rate_errors";
    static final String IDLE_REQUESTED = "idle_requested";
    static final String IDLE_OPENED = "idle_opened";
    static final String IDLE_ERRORS = "idle_errors";
    static final String IDLE_VERIFIED = "idle_verified";
    static final String IDLE_RAMP_S = "idle_ramp_s";
    static final String RSS_BEFORE = "idle_rss_before_kib";
    static final String RSS = "idle_rss_kib";
    static final String THREADS = "idle_threads";
    static final String FDS = "idle_fds";
    static final String HEAP_BEFORE = "idle_heap_before_kib";
    static final String HEAP = "idle_heap_kib";
    static final String HEAP_COMMITTED = "idle_heap_committed_kib";
    static final String ERROR = "error";
    static final String CLIENTS = "rate_clients";

    private Report() {
    }

    static void append(Path file, String subject, String key, Object value) throws IOException {
        String v = String.valueOf(value).replace('\t', ' ').replace('\n', ' ');
        Files.writeString(file, subject + "\t" + key + "\t" + v + "\n", StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /** subject → key → values (one per round), subjects in the order they were first measured. */
    static Map<String, Map<String, List<String>>> read(Path file) throws IOException {
        Map<String, Map<String, List<String>>> all = new LinkedHashMap<>();
        if (!Files.exists(file)) {
            return all;
        }
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String[] f = line.split("\t", 3);
            if (f.length == 3) {
                all.computeIfAbsent(f[0], k -> new LinkedHashMap<>()).computeIfAbsent(f[1], k -> new ArrayList<>()).add(f[2]);
            }
        }
        return all;
    }

    /** One subject's results: numbers are the median over rounds, which shrugs off one disturbed round. */
    private record Subject(Map<String, List<String>> values) {
        Double median(String key) {
            List<Double> xs = new ArrayList<>();
            for (String v : values.getOrDefault(key, List.of())) {
                Double d = number(v);
                if (d != null) {
                    xs.add(d);
                }
            }
            if (xs.isEmpty()) {
                return null;
            }
            xs.sort(null);
            int n = xs.size();
            return n % 2 == 1 ? xs.get(n / 2) : (xs.get(n / 2 - 1) + xs.get(n / 2)) / 2;
        }

        String text(String key) {
            List<String> v = values.getOrDefault(key, List.of()).stream().filter(x -> !x.isEmpty() && !x.equals("{}")).toList();
            return v.isEmpty() ? null : String.join("; ", v);
        }

        String rounds(String key, int decimals) {
            return values.getOrDefault(key, List.of()).stream().map(v -> format(number(v), decimals))
                    .collect(java.util.stream.Collectors.joining(", "));
        }
    }

    /** @param idle an idle-tunnel row, whose ratio uses {@link #IDLE_SUBJECT} when it was measured */
    private record Row(String label, Function<Subject, Double> value, int decimals, boolean ratio, boolean idle) {
        Row(String label, Function<Subject, Double> value, int decimals, boolean ratio) {
            this(label, value, decimals, ratio, false);
        }
    }

    private static Function<Subject, Double> key(String k) {
        return m -> m.median(k);
    }

    private static Function<Subject, Double> kib(String k) {
        return m -> {
            Double v = m.median(k);
            return v == null ? null : v / 1024.0;
        };
    }

    /** Core-seconds of proxy CPU per GiB moved: cores / (MiB/s / 1024). */
    private static Function<Subject, Double> perGiB(String cores, String mibs) {
        return m -> {
            Double c = m.median(cores);
            Double r = m.median(mibs);
            return c == null || r == null || r == 0 ? null : c / (r / 1024.0);
        };
    }

    /**
     * (after - before) / tunnels held, in KiB; only for a proxy that held every tunnel asked for,
     * since a few hundred tunnels are too few to see a per-tunnel cost through the process's noise.
     */
    private static Function<Subject, Double> perTunnel(String after, String before) {
        return m -> {
            Double a = m.median(after);
            Double b = m.median(before);
            Double n = m.median(IDLE_OPENED);
            Double asked = m.median(IDLE_REQUESTED);
            return a == null || b == null || n == null || n == 0 || !n.equals(asked) ? null : (a - b) / n;
        };
    }

    private static Double number(String s) {
        if (s == null || s.isEmpty()) {
            return null;
        }
        try {
            double d = Double.parseDouble(s);
            return Double.isNaN(d) ? null : d;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    static void print(Path file, PrintStream out) throws IOException {
        Map<String, Subject> all = new LinkedHashMap<>();
        read(file).forEach((k, v) -> all.put(k, new Subject(v)));
        List<String> subjects = new ArrayList<>(all.keySet());
        List<String> references = all.containsKey(SUBJECT) ? REFERENCES.stream().filter(all::containsKey).toList() : List.of();
        String idle = first(all, IDLE_REQUESTED, "N");
        String clients = first(all, CLIENTS, "N");
        List<Row> rows = List.of(
                new Row("CONNECT bulk, 1 stream (MiB/s)", key(TPUT_1), 0, true),
                new Row("  proxy CPU per GiB moved (core-seconds)", perGiB(TPUT_1_CPU, TPUT_1), 2, true),
                new Row("CONNECT bulk, 4 streams (MiB/s)", key(TPUT_4), 0, true),
                new Row("  proxy CPU per GiB moved (core-seconds)", perGiB(TPUT_4_CPU, TPUT_4), 2, true),
                new Row("new tunnels/s, " + clients + " clients", key(RATE), 0, true),
                new Row("  p50 connect → echoed byte (ms)", key(ECHO_P50), 2, true),
                new Row("  p99 connect → echoed byte (ms)", key(ECHO_P99), 2, true),
                new Row("  p99.9 connect → echoed byte (ms)", key(ECHO_P999), 2, true),
                new Row("  p50 connect → 200 (ms)", key(STATUS_P50), 2, true),
                new Row("  p99 connect → 200 (ms)", key(STATUS_P99), 2, true),
                new Row("  proxy CPU per tunnel (µs)", key(RATE_CPU_US), 0, true),
                new Row("  failed attempts (per round)", key(RATE_FAILED), 0, false),
                new Row("idle tunnels held (of " + idle + ")", key(IDLE_OPENED), 0, false),
                new Row("  RSS holding them (MiB)", kib(RSS), 1, true, true),
                new Row("  RSS growth per idle tunnel (KiB)", perTunnel(RSS, RSS_BEFORE), 2, true, true),
                new Row("  JVM heap live after full GC (MiB)", kib(HEAP), 1, false),
                new Row("  heap growth per idle tunnel (KiB)", perTunnel(HEAP, HEAP_BEFORE), 2, false),
                new Row("  threads", key(THREADS), 0, false));
        StringBuilder head = new StringBuilder("| |");
        StringBuilder rule = new StringBuilder("|---|");
        for (String s : subjects) {
            head.append(' ').append(s).append(" |");
            rule.append("---:|");
        }
        for (String ref : references) {
            head.append(" Airlock ÷ ").append(DISPLAY.get(ref)).append(" |");
            rule.append("---:|");
        }
        out.println(head);
        out.println(rule);
        for (Row r : rows) {
            StringBuilder line = new StringBuilder("| ").append(r.label()).append(" |");
            for (String s : subjects) {
                line.append(' ').append(format(r.value().apply(all.get(s)), r.decimals())).append(" |");
            }
            for (String ref : references) {
                String subject = r.idle() && all.containsKey(IDLE_SUBJECT) ? IDLE_SUBJECT : SUBJECT;
                Double a = r.ratio() ? r.value().apply(all.get(subject)) : null;
                Double b = r.ratio() ? r.value().apply(all.get(ref)) : null;
                String ratioText = a == null || b == null || b == 0 ? "" : String.format(Locale.ROOT, "%.2f×", a / b);
                line.append(' ').append(ratioText).append(" |");
            }
            out.println(line);
        }
        out.println();
        out.println("Medians over rounds. Per round (in the order measured):");
        for (String s : subjects) {
            Subject m = all.get(s);
            out.printf("- %s (%s)%s%s%s%s%s%s%s%s%n", s, m.text(ROUTE),
                    detail(": 1 stream MiB/s ", m.rounds(TPUT_1, 0)), detail("; 4 streams MiB/s ", m.rounds(TPUT_4, 0)),
                    detail("; tunnels/s ", m.rounds(RATE, 0)), detail("; p99 ms ", m.rounds(ECHO_P99, 1)),
                    detail("; tunnel errors: ", m.text(RATE_ERRORS)), detail("; idle errors: ", m.text(IDLE_ERRORS)),
                    detail("; idle check: ", m.text(IDLE_VERIFIED)), detail("; ERROR: ", m.text(ERROR)));
        }
        if (all.containsKey(SUBJECT)) {
            out.println();
            goals(all, out);
        }
    }

    /** The first value any subject recorded for {@code key}: a setting shared by the whole run. */
    private static String first(Map<String, Subject> all, String key, String otherwise) {
        return all.values().stream().map(m -> m.values().getOrDefault(key, List.of())).filter(v -> !v.isEmpty())
                .map(v -> v.get(0)).findFirst().orElse(otherwise);
    }

    private static String detail(String prefix, String v) {
        return v == null || v.isEmpty() || v.equals("{}") ? "" : prefix + v;
    }

    /** Issue 13's goals, each against the subject it names; a goal whose reference was not measured says so. */
    private static void goals(Map<String, Subject> all, PrintStream out) {
        Subject a = all.get(SUBJECT);
        out.println("Goals (Airlock, medians; issue 13):");
        goal(out, "1 stream  >= 2 × Squid", a, all.get(SQUID), TPUT_1, 2.0, "MiB/s");
        goal(out, "1 stream  >= 0.5 × direct", a, all.get(DIRECT), TPUT_1, 0.5, "MiB/s");
        goal(out, "4 streams >= 2.5 × Squid", a, all.get(SQUID), TPUT_4, 2.5, "MiB/s");
        Double p99 = a.median(ECHO_P99);
        Subject tinyproxy = all.get(TINYPROXY);
        boolean rateMet = tinyproxy != null && met(a.median(RATE), tinyproxy.median(RATE), 1.0) && p99 != null && p99 < 20;
        out.printf(Locale.ROOT, "  %-4s new tunnels/s >= tinyproxy with p99 < 20 ms: %s%n", rateMet ? "MET" : "MISS",
                tinyproxy == null ? "tinyproxy not measured"
                        : versus(a.median(RATE), tinyproxy.median(RATE), "/s") + ", p99 " + format(p99, 2) + " ms");
        Subject squid = all.get(SQUID);
        Double cpu = a.median(RATE_CPU_US);
        boolean cpuMet = squid != null && cpu != null && squid.median(RATE_CPU_US) != null && cpu <= squid.median(RATE_CPU_US);
        out.printf(Locale.ROOT, "  %-4s CPU per new tunnel <= Squid's: %s%n", cpuMet ? "MET" : "MISS",
                squid == null ? "Squid not measured" : versus(cpu, squid.median(RATE_CPU_US), " µs"));
        Subject haproxy = all.get(HAPROXY);
        if (haproxy != null) {
            out.println("A user-space relay's ceiling here (HAProxy, TCP mode with splice, no CONNECT to parse):");
            ceiling(out, "1 stream ", a, haproxy, all.get(DIRECT), all.get(SQUID), TPUT_1);
            ceiling(out, "4 streams", a, haproxy, all.get(DIRECT), all.get(SQUID), TPUT_4);
        }
    }

    private static void goal(PrintStream out, String what, Subject a, Subject reference, String key, double factor,
            String unit) {
        if (reference == null) {
            out.printf(Locale.ROOT, "  MISS %s: not measured%n", what);
            return;
        }
        out.printf(Locale.ROOT, "  %-4s %s: %s%n", met(a.median(key), reference.median(key), factor) ? "MET" : "MISS", what,
                versus(a.median(key), reference.median(key), " " + unit));
    }

    private static void ceiling(PrintStream out, String what, Subject a, Subject haproxy, Subject direct, Subject squid,
            String key) {
        Double h = haproxy.median(key);
        out.printf(Locale.ROOT, "  %s: HAProxy %s MiB/s = %s direct, %s Squid; Airlock %s HAProxy%n", what, format(h, 0),
                times(h, direct == null ? null : direct.median(key)), times(h, squid == null ? null : squid.median(key)),
                times(a.median(key), h));
    }

    private static boolean met(Double a, Double b, double factor) {
        return a != null && b != null && a >= factor * b;
    }

    private static String versus(Double a, Double b, String unit) {
        return format(a, 0) + " vs " + format(b, 0) + unit + " (" + times(a, b) + ")";
    }

    private static String times(Double a, Double b) {
        return a == null || b == null || b == 0 ? "?×" : String.format(Locale.ROOT, "%.2f×", a / b);
    }

    private static String format(Double v, int decimals) {
        if (v == null) {
            return "—";
        }
        return String.format(Locale.ROOT, "%,." + decimals + "f", v);
    }
}
