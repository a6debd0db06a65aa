package dev.airlock.audit.evidence;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.audit.report.Readable;
import dev.airlock.audit.report.ReportStore;
import dev.airlock.gateway.audit.AuditLogReader;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.Rule;
import dev.airlock.sandbox.LinkSafeFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * {@code airlock evidence --out DIR}: the auditor's bundle. {@code DIR/index.html} links every
 * file of {@code DIR}; {@code DIR.zip}, next to it, holds the same tree. Per project: the devbox
 * configuration (the policy file and what it sets), the isolation boundaries as the latest audit
 * saw them in a running sandbox (bubblewrap's command line, namespaces, capabilities,
 * no_new_privs, seccomp, mounts, cgroup limits), the network rules (as written, as nftables
 * applied them, and in every export format given); then pool metrics over a window, the latest
 * audit reports, and the audit log's hash-chain verification. Whatever is missing is said so.
 */
public final class EvidenceBundle {

    /** What to bundle. */
    public record Input(List<Path> policies, Optional<Path> org, Path stateDir, Duration window, String airlockVersion,
            List<NetworkPolicyExport> exports) {
        public Input {
            policies = List.copyOf(policies);
            exports = List.copyOf(exports);
        }
    }

    /** The directory, the zip, and the gaps the bundle states (no audit yet for a project, no daemon data, ...). */
    public record Result(Path dir, Path zip, List<String> gaps) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private EvidenceBundle() {
    }

    public static Result build(Input in, Path out, Instant now) throws IOException, PolicyException {
        OrgPolicy org = PolicyFiles.loadOrg(in.org());
        List<ProjectPolicy> projects = new ArrayList<>();
        for (Path p : in.policies()) {
            projects.add(PolicyFiles.loadProject(p));
        }
        Files.createDirectories(out);
        List<String> gaps = new ArrayList<>();
        List<ReportStore.Entry> audits = new ReportStore(in.stateDir()).list(gaps);
        Path log = in.stateDir().resolve("audit.log");
        Optional<AuditLogReader.Verification> verification = Files.isRegularFile(log) ? Optional.of(AuditLogReader.verify(log))
                : Optional.empty();

        Html h = new Html("Airlock evidence bundle");
        Map<String, Optional<ReportStore.Entry>> latest = new LinkedHashMap<>();
        projects.forEach(p -> latest.put(p.project(), latestAudit(audits, p.project())));
        ProductionAnswer answer = ProductionAnswer.of(!org.production().isEmpty(), latest, chain(log, verification));
        h.answer("Can agents reach production?", answer.cssClass(), answer.verdict().headline, answer.lines());
        h.p("Built " + Readable.time(now) + " by Airlock " + in.airlockVersion() + " from " + in.policies().size() + " project polic"
                + (in.policies().size() == 1 ? "y" : "ies") + (in.org().isPresent() ? " and the organisation policy " + in.org().get() : "")
                + ". State directory: " + in.stateDir() + ".");
        if (in.org().isPresent()) {
            copy(in.org().get(), out.resolve("org.yaml"));
            h.h2("Organisation policy");
            h.p("Production (denied for every project on every port, by name, by the addresses its names resolve to, and by CIDR;"
                    + " production entries take no ports, and no project rule can open them):");
            h.list(org.production().stream().map(Rule::toString).toList());
            h.link("org.yaml", "org.yaml (as given)");
        }

        Files.createDirectories(out.resolve("audits"));
        for (int i = 0; i < projects.size(); i++) {
            project(h, in, projects.get(i), in.policies().get(i), latest.get(projects.get(i).project()), out, gaps);
        }

        h.h2("Pool metrics (last " + in.window().toDays() + " days)");
        PoolMetrics.Report pool = PoolMetrics.read(in.stateDir(), now, in.window());
        StringBuilder poolText = new StringBuilder("window " + Readable.time(pool.from()) + " to " + Readable.time(pool.to()) + "\n");
        if (pool.projects().isEmpty()) {
            h.p(pool.note());
            gaps.add(pool.note());
            poolText.append(pool.note()).append('\n');
        } else {
            List<List<String>> rows = new ArrayList<>();
            for (PoolMetrics.ProjectClaims c : pool.projects()) {
                String size = c.size().map(z -> String.format(java.util.Locale.ROOT, "ready %.1f avg / %d max, desired %.1f avg, in use %d max"
                        + " (%d samples)", z.meanReady(), z.maxReady(), z.meanDesired(), z.maxInUse(), z.samples())).orElse("no size samples");
                rows.add(List.of(c.project(), size, Long.toString(c.warm()), Long.toString(c.cold()), Long.toString(c.failed()),
                        pct(c.warmHitRate()), pct(c.coldStartRate())));
                poolText.append(String.join("\t", rows.get(rows.size() - 1))).append('\n');
            }
            h.table(List.of("project", "pool size", "warm claims", "cold claims", "failed claims", "warm hit rate", "cold start rate"), rows);
        }
        write(out.resolve("pool-metrics.txt"), poolText);
        h.link("pool-metrics.txt", "pool-metrics.txt");

        h.h2("Audit log integrity");
        String verify;
        if (verification.isEmpty()) {
            verify = "no audit log at " + log;
            gaps.add(verify);
        } else {
            AuditLogReader.Verification v = verification.get();
            verify = v.firstBreak().map(b -> log + ": BROKEN at line " + b.line() + ": " + b.why() + " (" + v.records()
                    + " records before it verify)").orElse(log + ": intact, " + v.records() + " records, head " + v.head()
                    + "\n(airlock log verify --anchor " + v.head() + " detects later truncation)");
        }
        Optional<AuditLogReader.TornLines> torn = AuditLogReader.tornLines(log);
        if (torn.isPresent()) {
            // Partial last lines that writers moved aside after an append was cut short (docs/audit-log.md).
            long cuts = torn.get().count();
            copy(torn.get().file(), out.resolve("audit-log-torn.txt"));
            verify += "\n" + torn.get().file() + ": " + cuts + " partial last line" + (cuts == 1 ? "" : "s")
                    + " moved aside by writers after an append was cut short (kill -9, crash, power cut): audit-log-torn.txt";
        }
        write(out.resolve("audit-log-verify.txt"), verify + "\n");
        h.pre(verify);
        h.link("audit-log-verify.txt", "audit-log-verify.txt");
        if (!gaps.isEmpty()) {
            h.h2("Gaps");
            h.list(gaps);
        }
        write(out.resolve("index.html"), h.end(), StandardCharsets.UTF_8);
        Path zip = out.resolveSibling(out.getFileName() + ".zip");
        zip(out, zip);
        return new Result(out, zip, gaps);
    }

    /** The latest full audit of a project; a quick one (a warm-pool claim's subset) only when no full one exists. */
    private static Optional<ReportStore.Entry> latestAudit(List<ReportStore.Entry> audits, String project) {
        return audits.stream().filter(a -> a.project().equals(project))
                .max(Comparator.comparing((ReportStore.Entry a) -> "full".equals(a.scope())).thenComparing(ReportStore.Entry::started));
    }

    private static ProductionAnswer.Chain chain(Path log, Optional<AuditLogReader.Verification> v) {
        if (v.isEmpty()) {
            return new ProductionAnswer.Chain(Optional.empty(), "no audit log at " + log);
        }
        return v.get().firstBreak().map(b -> new ProductionAnswer.Chain(Optional.of(false), "hash chain BROKEN at line " + b.line() + " of " + log))
                .orElse(new ProductionAnswer.Chain(Optional.of(true), "hash chain intact, " + v.get().records() + " record"
                        + (v.get().records() == 1 ? "" : "s") + " (" + log + ")"));
    }

    /** {@code PASS: 90 probes, 88 pass, 2 not-reachable-here}: the counts as a sentence, zero counts left out. */
    static String counts(String result, Map<String, Long> counts) {
        StringBuilder b = new StringBuilder(result.toUpperCase(Locale.ROOT)).append(": ").append(counts.getOrDefault("total", 0L)).append(" probes");
        counts.entrySet().stream().filter(e -> !"total".equals(e.getKey()) && e.getValue() > 0)
                .forEach(e -> b.append(", ").append(e.getValue()).append(' ').append(e.getKey()));
        return b.toString();
    }

    private static void project(Html h, Input in, ProjectPolicy p, Path policyFile, Optional<ReportStore.Entry> latest, Path out,
            List<String> gaps) throws IOException {
        String name = p.project();
        Path dir = Files.createDirectories(out.resolve("projects").resolve(name));
        copy(policyFile, dir.resolve("airlock.yaml"));
        h.h2("Project " + name);
        h.h3("Devbox configuration");
        List<String> config = new ArrayList<>();
        config.add("policy file: " + policyFile.toAbsolutePath());
        config.add("resources (cgroup limits): memory " + Readable.bytes(p.resources().memoryBytes()) + ", " + p.resources().cpus() + " CPUs, "
                + p.resources().pids() + " pids");
        p.workspace().ifPresent(w -> config.add("workspace: " + w.source() + " at " + w.ref() + ", setup " + w.setup()));
        config.add(image(p));
        config.add("pool: min " + p.pool().min() + ", max " + p.pool().max() + ", target hit rate " + p.pool().targetHitRate());
        h.list(config);
        h.link("projects/" + name + "/airlock.yaml", "airlock.yaml (as given)");

        h.h3("Network rules as written");
        List<String> rules = new ArrayList<>();
        p.presets().forEach(r -> rules.add("preset " + r.name()));
        p.allow().forEach(r -> rules.add("allow " + r));
        p.deny().forEach(r -> rules.add("deny " + r));
        p.setupAllow().forEach(r -> rules.add("allow during setup only " + r));
        rules.add("everything else: denied; protected addresses (loopback, RFC 1918, link-local and cloud metadata, CGNAT, ULA,"
                + " multicast, unspecified, Airlock's links) denied unless a CIDR rule names them; production always denied");
        h.list(rules);
        write(dir.resolve("network-rules.txt"), String.join("\n", rules) + "\n");

        for (NetworkPolicyExport x : in.exports()) {
            try {
                write(dir.resolve(x.fileName()), x.render(policyFile, in.org()));
                h.link("projects/" + name + "/" + x.fileName(), "export: " + x.format());
            } catch (Exception e) {
                String gap = name + ": export " + x.format() + " failed: " + e.getMessage();
                gaps.add(gap);
                h.p(gap);
            }
        }

        h.h3("Isolation boundaries and enforcement, as the latest audit saw them");
        if (latest.isEmpty()) {
            String gap = name + ": no audit report yet; run as root: airlock audit --policy " + policyFile;
            gaps.add(gap);
            h.p(gap);
            return;
        }
        ReportStore.Entry a = latest.get();
        Path copy = out.resolve("audits").resolve(a.dir().getFileName().toString());
        copyTree(a.dir(), copy);
        JsonNode report = JSON.readTree(a.dir().resolve("report.json").toFile());
        h.p("Audit (" + a.scope() + " battery) of " + Readable.time(a.started()) + ": " + counts(a.result(), a.counts()) + "; policy sha256 "
                + a.policySha256() + ".");
        for (String f : List.of("report.html", "report.md", "report.json")) {
            if (Files.exists(copy.resolve(f))) {
                h.link("audits/" + copy.getFileName() + "/" + f, f);
            }
        }
        JsonNode iso = report.path("isolation");
        List<String> boundary = new ArrayList<>();
        iso.path("process").properties().forEach(e -> boundary.add(e.getKey() + ": " + e.getValue().asText()));
        iso.path("cgroupLimits").properties().forEach(e -> boundary.add("cgroup " + e.getKey() + ": " + e.getValue().asText()));
        iso.path("namespaces").forEach(n -> boundary.add("namespace " + n.asText()));
        h.list(boundary);
        StringBuilder bw = new StringBuilder();
        iso.path("bwrapArgs").forEach(x -> bw.append(x.asText()).append(' '));
        h.p("bubblewrap command line (mounts and namespaces):");
        h.pre(bw.toString().strip());
        StringBuilder mounts = new StringBuilder();
        iso.path("mounts").forEach(x -> mounts.append(x.asText()).append('\n'));
        write(dir.resolve("mounts.txt"), mounts);
        h.link("projects/" + name + "/mounts.txt", "mounts in the sandbox (mount point, root, options)");
        String nft = "# host table " + report.path("enforcement").path("hostTable").asText() + "\n"
                + report.path("enforcement").path("hostRuleset").asText() + "\n# the sandbox's own table (its network namespace)\n"
                + report.path("enforcement").path("sandboxRuleset").asText();
        write(dir.resolve("nftables-as-applied.nft"), nft);
        h.p("nftables, as applied while the audit ran:");
        h.pre(nft);
        h.link("projects/" + name + "/nftables-as-applied.nft", "nftables-as-applied.nft");
    }

    private static String pct(double d) {
        return Double.isNaN(d) ? "n/a" : String.format(Locale.ROOT, "%.1f%%", d * 100);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                copy(f, to.resolve(f.getFileName().toString()));
            }
        }
    }

    private static void zip(Path dir, Path zip) throws IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes); Stream<Path> s = Files.walk(dir)) {
            for (Path f : s.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).sorted().toList()) {
                z.putNextEntry(new ZipEntry(dir.getFileName() + "/" + dir.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, z);
                z.closeEntry();
            }
        }
        LinkSafeFiles.replaceFile(zip, bytes.toByteArray());
    }

    /** The devbox's root file system: the host's, or the project's image with the manifest digest its layout names now (docs/images.md). */
    static String image(ProjectPolicy p) {
        if (p.image().isEmpty()) {
            return "root file system: the host's /usr (no image:)";
        }
        ProjectPolicy.Image i = p.image().get();
        String named = "image: " + i.describe();
        try {
            return named + ", manifest " + dev.airlock.runtime.ProjectImage.digest(p).orElseThrow();
        } catch (dev.airlock.sandbox.SandboxException e) {
            return named + ", manifest unreadable: " + e.getMessage();
        }
    }

    /**
     * Every file of the bundle replaces its name (a fresh file renamed over it): a link left where
     * the bundle goes (an --out directory a sandbox wrote) is replaced, never followed by root.
     */
    private static void write(Path file, CharSequence text) throws IOException {
        LinkSafeFiles.replaceFile(file, text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static void write(Path file, String text, java.nio.charset.Charset cs) throws IOException {
        LinkSafeFiles.replaceFile(file, text.getBytes(cs));
    }

    private static void copy(Path from, Path to) throws IOException {
        LinkSafeFiles.replaceFile(to, Files.readAllBytes(from));
    }
}
