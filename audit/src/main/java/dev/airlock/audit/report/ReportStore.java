package dev.airlock.audit.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.airlock.audit.battery.BatteryRun;
import dev.airlock.sandbox.LinkSafeFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Keeps reports: every audit writes {@code $STATE/audits/<UTC timestamp>/report.json} (always, it
 * is what history reads) plus the requested formats; a {@code --report DIR} gets a copy. History
 * lists them oldest first and says what changed from one to the next.
 */
public final class ReportStore {

    private static final DateTimeFormatter DIR_NAME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);

    private final Path audits;

    public ReportStore(Path stateDir) {
        this.audits = stateDir.resolve("audits");
    }

    public Path root() {
        return audits;
    }

    /** Writes the reports; returns the kept directory. */
    public Path save(BatteryRun run, Set<Format> formats, Optional<Path> copyTo) throws IOException {
        Files.createDirectories(audits);
        String base = DIR_NAME.format(run.started());
        Path dir = audits.resolve(base);
        for (int i = 2; Files.exists(dir); i++) {
            dir = audits.resolve(base + "-" + i);
        }
        Files.createDirectories(dir);
        write(dir, run, formats, true);
        if (copyTo.isPresent()) {
            Files.createDirectories(copyTo.get());
            write(copyTo.get(), run, formats, false);
        }
        return dir;
    }

    /**
     * Each report replaces its file (a fresh file renamed over the name): a link left where a report
     * goes (say a --report directory inside a workspace a sandbox wrote) is replaced, not followed.
     */
    private static void write(Path dir, BatteryRun run, Set<Format> formats, boolean alwaysJson) throws IOException {
        if (alwaysJson || formats.contains(Format.JSON)) {
            LinkSafeFiles.replaceFile(dir.resolve(Format.JSON.fileName), ReportJson.render(run).getBytes(StandardCharsets.UTF_8));
        }
        if (formats.contains(Format.HTML)) {
            LinkSafeFiles.replaceFile(dir.resolve(Format.HTML.fileName), ReportHtml.render(run).getBytes(StandardCharsets.UTF_8));
        }
        if (formats.contains(Format.MD)) {
            LinkSafeFiles.replaceFile(dir.resolve(Format.MD.fileName), ReportMarkdown.render(run).getBytes(StandardCharsets.UTF_8));
        }
    }

    /** One kept report, as history shows it. */
    public record Entry(Path dir, Instant started, String project, String result, String scope, String policySha256,
            Optional<String> orgSha256, Map<String, Long> counts, Map<String, String> statuses) {
    }

    /** What changed from one report to the next. */
    public record Change(Entry previous, Entry current, boolean policyChanged, boolean orgChanged,
            Map<String, String[]> statusChanges, List<String> added, List<String> removed) {
    }

    /** Every readable report, oldest first; unreadable ones are listed in {@code problems}. */
    public List<Entry> list(List<String> problems) throws IOException {
        if (!Files.isDirectory(audits)) {
            return List.of();
        }
        List<Entry> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(audits)) {
            for (Path d : s.filter(Files::isDirectory).sorted().toList()) {
                Path f = d.resolve(Format.JSON.fileName);
                if (!Files.isRegularFile(f)) {
                    continue;
                }
                try {
                    out.add(read(d, ReportJson.JSON.readTree(f.toFile())));
                } catch (IOException | RuntimeException e) {
                    problems.add(f + ": not a readable audit report (" + e.getMessage() + ")");
                }
            }
        }
        out.sort(Comparator.comparing(Entry::started));
        return out;
    }

    static Entry read(Path dir, JsonNode n) {
        Map<String, String> statuses = new LinkedHashMap<>();
        n.path("probes").forEach(p -> statuses.put(p.path("id").asText(), p.path("status").asText()));
        Map<String, Long> counts = new LinkedHashMap<>();
        n.path("summary").properties().forEach(e -> counts.put(e.getKey(), e.getValue().asLong()));
        JsonNode org = n.path("org");
        return new Entry(dir, Instant.parse(n.path("started").asText()), n.path("project").asText(), n.path("result").asText(),
                n.path("scope").asText("full"), n.path("policy").path("sha256").asText(),
                org.isObject() ? Optional.of(org.path("sha256").asText()) : Optional.empty(), counts, statuses);
    }

    /** The changes between consecutive reports of the same project and scope (full to full, quick to quick), in order. */
    public static List<Change> changes(List<Entry> entries) {
        List<Change> out = new ArrayList<>();
        Map<String, Entry> last = new LinkedHashMap<>();
        for (Entry e : entries) {
            Entry prev = last.put(e.project() + " " + e.scope(), e);
            if (prev != null) {
                out.add(diff(prev, e));
            }
        }
        return out;
    }

    public static Change diff(Entry prev, Entry cur) {
        Map<String, String[]> changed = new LinkedHashMap<>();
        List<String> added = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        cur.statuses().forEach((id, s) -> {
            String before = prev.statuses().get(id);
            if (before == null) {
                added.add(id);
            } else if (!before.equals(s)) {
                changed.put(id, new String[] {before, s});
            }
        });
        prev.statuses().keySet().stream().filter(id -> !cur.statuses().containsKey(id)).forEach(removed::add);
        return new Change(prev, cur, !prev.policySha256().equals(cur.policySha256()), !prev.orgSha256().equals(cur.orgSha256()), changed,
                added, removed);
    }
}
