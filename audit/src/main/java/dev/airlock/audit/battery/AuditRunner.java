package dev.airlock.audit.battery;

import dev.airlock.gateway.audit.AuditLogReader;
import dev.airlock.gateway.resolve.Resolution;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.load.Presets;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.Preset;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.Rule;
import dev.airlock.runtime.AuditWorkDirectory;
import dev.airlock.runtime.PolicyContext;
import dev.airlock.runtime.SandboxSession;
import dev.airlock.sandbox.PreparedSandbox;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import dev.airlock.sandbox.SandboxUser;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * {@code airlock audit}: starts a real sandbox with the given policies (the same gateway and
 * launcher as {@code airlock run}), runs the battery inside it as the sandbox user, one probe at
 * a time, and collects each probe's outcome, its positive control and the gateway's audit records
 * for it.
 *
 * <p>The one seam for tests is {@code afterPrepare}: a kernel test weakens the sandbox's rules
 * there to prove the battery notices. It is package-private; the command line cannot reach it.
 */
public final class AuditRunner {

    /**
     * What to audit. {@code org} and {@code hosts} as for {@code airlock run}. {@code auditLog}: where
     * the audit's gateway records its decisions, by default {@code STATE/audit.log}, which any number
     * of writers share.
     */
    public record Options(Path policy, Optional<Path> org, Optional<Path> hosts, Path stateDir, Battery.Scope scope,
            String airlockVersion, Path auditLog) {

        public Options(Path policy, Optional<Path> org, Optional<Path> hosts, Path stateDir, Battery.Scope scope, String airlockVersion) {
            this(policy, org, hosts, stateDir, scope, airlockVersion, stateDir.resolve("audit.log"));
        }
    }

    private static final Duration AGENT_START = Duration.ofSeconds(30);

    private final PrintStream progress;
    private final Clock clock;
    private final Consumer<PreparedSandbox> afterPrepare;
    private final WorkspaceTargets.RootWriter rootWriter;

    public AuditRunner(PrintStream progress) {
        this(progress, Clock.systemUTC(), p -> {
        });
    }

    AuditRunner(PrintStream progress, Clock clock, Consumer<PreparedSandbox> afterPrepare) {
        this(progress, clock, afterPrepare, WorkspaceTargets.AIRLOCK);
    }

    /** {@code rootWriter}: how root writes where the sandbox planted a link (a test passes a plain write to show the probe fails). */
    AuditRunner(PrintStream progress, Clock clock, Consumer<PreparedSandbox> afterPrepare, WorkspaceTargets.RootWriter rootWriter) {
        this.progress = progress;
        this.clock = clock;
        this.afterPrepare = afterPrepare;
        this.rootWriter = rootWriter;
    }

    public BatteryRun run(Options o) throws AuditException, InterruptedException {
        try {
            SandboxLauncher.checkHost();
        } catch (SandboxException e) {
            throw new AuditException(e.getMessage(), e);
        }
        ProjectPolicy project;
        List<String> knownNames = List.of();
        try {
            project = PolicyFiles.loadProject(o.policy());
            if (o.hosts().isPresent()) {
                knownNames = hostNames(o.hosts().get());
            }
        } catch (PolicyException e) {
            throw invalid(e);
        } catch (IOException e) {
            throw new AuditException("cannot read " + o.hosts().orElse(o.policy()) + ": " + e.getMessage(), e);
        }
        // The battery runs under exactly the wiring a run has: the host's addresses and the
        // production names' addresses are known to the engine and kept current.
        PolicyContext policies;
        PolicyEngine engine;
        try {
            policies = PolicyContext.open(o.org(), o.hosts(), progress);
        } catch (PolicyException e) {
            throw invalid(e);
        } catch (IOException e) {
            throw new AuditException("the audit failed: " + e, e);
        }
        try {
            engine = policies.engine(project, Phase.RUN);
        } catch (PolicyException e) {
            policies.close();
            throw invalid(e);
        }
        OrgPolicy org = policies.org();
        Resolver resolver = policies.resolver();
        BatteryRun.Subject subject = new BatteryRun.Subject(project.project(), hashed(o.policy()), o.org().map(AuditRunner::hashed),
                o.hosts().map(AuditRunner::hashed), o.airlockVersion());
        AuditWorkDirectory workDir = null;
        try (policies; SandboxLauncher launcher = SandboxSession.launcher(o.stateDir(), progress);
                HostControls controls = HostControls.start()) {
            // Beside the state directory, so root re-owns and removes it only through the kernel's checks.
            workDir = AuditWorkDirectory.create(launcher, o.stateDir());
            Path work = workDir.path();
            Path workspace = Files.createDirectories(work.resolve("workspace"));
            Path neighbourWorkspace = Files.createDirectories(work.resolve("other-project"));
            Path canary = Files.writeString(neighbourWorkspace.resolve("other-project-secret.txt"), "another project's file\n");
            for (Path p : List.of(workspace, neighbourWorkspace, workspace.resolve("probes"))) {
                Files.createDirectories(p);
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            Files.setPosixFilePermissions(canary, PosixFilePermissions.fromString("rw-r--r--"));
            copyResource("agent.sh", workspace);
            copyResource("lib.sh", workspace);
            SandboxUser user = SandboxUser.current();
            WorkspaceTargets.prepare(workspace, user, workDir);
            try (SandboxSession session = SandboxSession.open(launcher, o.auditLog(), project, engine, resolver, workspace)) {
                afterPrepare.accept(session.sandbox());
                PreparedSandbox neighbour = session.neighbour(neighbourWorkspace);
                PreparedSandbox sb = session.sandbox();
                Resolver r = resolver;
                BatteryContext context = new BatteryContext(project, org, allowRules(project, org), knownNames,
                        name -> addresses(r, name), sb.hostAddress().toString(), sb.sandboxAddress().toString(),
                        neighbour.hostAddress().toString(), neighbour.sandboxAddress().toString(), session.gatewayPorts().transparentTcp(),
                        session.gatewayPorts().dns(), SandboxSession.EXPLICIT_PORT, controls.onHost(sb.hostAddress().toString()),
                        controls.onLoopback(), controls.udpOnHost(sb.hostAddress().toString()),
                        hiddenPaths(o.stateDir(), neighbourWorkspace, canary), daemonPort(o.stateDir()),
                        policies.facts().hostAddresses().get().addresses().stream().map(Object::toString).sorted().toList());
                List<Probe> probes = Battery.plan(context, o.scope());
                for (int i = 0; i < probes.size(); i++) {
                    // Named by position: ids may hold characters a file name should not.
                    Path f = workspace.resolve("probes").resolve("p" + i + ".sh");
                    Files.writeString(f, probes.get(i).script());
                    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
                }
                Files.writeString(workspace.resolve("probes/_isolation.sh"), ISOLATION);
                BatteryRun.Enforcement enforcement = new BatteryRun.Enforcement("inet " + sb.nftTable(),
                        host("nft", "list", "table", "inet", sb.nftTable()),
                        host("ip", "netns", "exec", sb.netns(), "nft", "list", "table", "inet", sb.nftTable()));
                Instant started = clock.instant().truncatedTo(ChronoUnit.MILLIS);
                String kernel = host("uname", "-srvmo").strip();
                progress.println("airlock audit: " + probes.size() + " probes in sandbox " + sb.id() + " (" + project.project() + ")");
                List<ProbeResult> results = new ArrayList<>();
                BatteryRun.Isolation isolation;
                List<Integer> eventMarks = new ArrayList<>();
                List<Outcome> outcomes = new ArrayList<>();
                List<Optional<ControlResult>> controlResults = new ArrayList<>();
                List<Long> durations = new ArrayList<>();
                Process process = session.start(List.of("bash", "/workspace/agent.sh"), Map.of());
                try (ProbeAgent agent = new ProbeAgent(process)) {
                    agent.awaitReady(AGENT_START);
                    isolation = isolation(agent.run("_isolation").output(), process, sb);
                    eventMarks.add(settled(session));
                    for (int i = 0; i < probes.size(); i++) {
                        Optional<LocalTarget> target = probes.get(i).control();
                        Optional<ControlResult> control = target.filter(t -> !(t instanceof LocalTarget.RootWrite)).map(t -> t instanceof
                                LocalTarget.WritableDir d ? WorkspaceTargets.before(d, workspace, user) : HostControls.check(t));
                        long t0 = System.nanoTime();
                        Outcome out = agent.run("p" + i);
                        if (target.isPresent() && target.get() instanceof LocalTarget.RootWrite rw) {
                            // The host half: root writes where the sandbox planted its links, then the control.
                            out = WorkspaceTargets.rootWrite(rw, workspace, out, rootWriter);
                            control = Optional.of(WorkspaceTargets.after(rw, workspace));
                        }
                        durations.add((System.nanoTime() - t0) / 1_000_000);
                        outcomes.add(out);
                        controlResults.add(control);
                        eventMarks.add(settled(session));
                        progress.print(".");
                        progress.flush();
                    }
                }
                progress.println();
                int total = session.events().size();
                session.close();
                List<List<Evidence>> evidence = evidence(o.auditLog(), sb.id(), eventMarks, total);
                for (int i = 0; i < probes.size(); i++) {
                    Probe p = probes.get(i);
                    Verdict.Judged j = Verdict.judge(p, outcomes.get(i), controlResults.get(i), evidence.get(i));
                    results.add(new ProbeResult(p.id(), p.category(), p.target(), p.expected(), j.status(), j.observed(),
                            bound(outcomes.get(i).output()), evidence.get(i), controlResults.get(i), durations.get(i)));
                }
                List<String> notes = new ArrayList<>();
                if (o.hosts().isEmpty()) {
                    notes.add("names were resolved with the system resolver; pass --hosts for an air-gapped host");
                }
                return new BatteryRun(subject, started, clock.instant().truncatedTo(ChronoUnit.MILLIS), kernel, sb.id(), o.scope(), enforcement, isolation, results, notes);
            }
        } catch (SandboxException e) {
            throw new AuditException(e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            throw new AuditException("the audit failed: " + e, e);
        } finally {
            if (workDir != null) {
                // after the launcher closed: its sandboxes are gone
                deleteTree(workDir);
            }
        }
    }

    private static AuditException invalid(PolicyException e) {
        StringBuilder b = new StringBuilder("the policies are not valid:");
        e.problems().forEach(p -> b.append("\n  ").append(p));
        return new AuditException(b.toString(), e);
    }

    /** Waits until the gateway's decisions stop arriving (bounded): a probe's close events trail its end. */
    private static int settled(SandboxSession session) throws InterruptedException {
        int n = session.events().size();
        for (int i = 0; i < 6; i++) {
            Thread.sleep(50);
            int m = session.events().size();
            if (m == n) {
                return m;
            }
            n = m;
        }
        return n;
    }

    /**
     * The audit records of this sandbox, in the order the gateway submitted them (one writer, FIFO),
     * split at the marks taken between probes: probe i owns events [marks[i], marks[i+1]).
     */
    private static List<List<Evidence>> evidence(Path log, String sandboxId, List<Integer> marks, int total) throws IOException {
        List<Evidence> mine = new ArrayList<>();
        try (Stream<AuditLogReader.Line> lines = AuditLogReader.lines(log)) {
            lines.forEach(l -> {
                if (l instanceof AuditLogReader.Entry e && sandboxId.equals(e.record().sandbox())) {
                    mine.add(Evidence.of(e.record()));
                }
            });
        }
        List<List<Evidence>> out = new ArrayList<>();
        for (int i = 0; i + 1 < marks.size(); i++) {
            int from = Math.min(marks.get(i), mine.size());
            int to = Math.min(marks.get(i + 1), mine.size());
            out.add(List.copyOf(mine.subList(from, to)));
        }
        return out;
    }

    private static final String ISOLATION = """
            echo '@section process'
            grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status
            echo '@section ns'
            for n in /proc/self/ns/*; do echo "${n##*/} $(readlink "$n")"; done
            echo '@section mounts'
            awk '{ print $5, $4, $6 }' /proc/self/mountinfo
            """;

    private BatteryRun.Isolation isolation(String output, Process process, PreparedSandbox sb) {
        Map<String, String> proc = new LinkedHashMap<>();
        List<String> ns = new ArrayList<>();
        List<String> mounts = new ArrayList<>();
        String section = "";
        for (String line : output.split("\n")) {
            if (line.startsWith("@section ")) {
                section = line.substring(9).strip();
                continue;
            }
            switch (section) {
                case "process" -> {
                    int c = line.indexOf(':');
                    if (c > 0) {
                        proc.put(line.substring(0, c), line.substring(c + 1).strip());
                    }
                }
                case "ns" -> {
                    String[] f = line.split(" ", 2);
                    if (f.length == 2) {
                        String hostNs = readLink(Path.of("/proc/self/ns", f[0]));
                        ns.add(f[0] + ": " + (f[1].equals(hostNs) ? "shared with the host (" + f[1] + ")" : "own (" + f[1] + ")"));
                    }
                }
                case "mounts" -> {
                    if (!line.isBlank()) {
                        mounts.add(line);
                    }
                }
                default -> {
                }
            }
        }
        List<String> bwrap = process.descendants().map(ProcessHandle::info)
                .filter(i -> i.command().map(c -> c.endsWith("/bwrap")).orElse(false)).findFirst()
                .flatMap(i -> i.arguments().map(List::of)).orElse(List.of("(bubblewrap's command line could not be read from /proc)"));
        Map<String, String> limits = cgroupLimits(sb.cgroup());
        return new BatteryRun.Isolation(bwrap, proc, ns, mounts, limits);
    }

    /**
     * The limits the kernel holds for the sandbox's cgroup: cgroup v2 files in its directory, or,
     * on a host with v1 hierarchies (its directory is then the one in the pids hierarchy), the
     * v1 files of the same name in the memory and cpu hierarchies.
     */
    static Map<String, String> cgroupLimits(Path cgroup) {
        Map<String, String> limits = new LinkedHashMap<>();
        Path name = cgroup.getFileName();
        Path root = cgroup.getParent() != null ? cgroup.getParent().getParent() : null;
        List<Path> candidates = new ArrayList<>(List.of(cgroup.resolve("memory.max"), cgroup.resolve("cpu.max"), cgroup.resolve("pids.max")));
        if (root != null && name != null) {
            for (String dir : List.of("memory", "cpu", "cpu,cpuacct")) {
                Path d = root.resolve(dir).resolve(name);
                candidates.addAll(List.of(d.resolve("memory.limit_in_bytes"), d.resolve("cpu.cfs_quota_us"), d.resolve("cpu.cfs_period_us")));
            }
        }
        for (Path f : candidates) {
            if (Files.isRegularFile(f) && !limits.containsKey(f.getFileName().toString())) {
                try {
                    limits.put(f.getFileName().toString(), Files.readString(f).strip());
                } catch (IOException e) {
                    limits.put(f.getFileName().toString(), "(not readable: " + e.getMessage() + ")");
                }
            }
        }
        if (limits.isEmpty()) {
            limits.put("cgroup", "(no limit files found under " + cgroup + ")");
        }
        return limits;
    }

    private static String readLink(Path p) {
        try {
            return Files.readSymbolicLink(p).toString();
        } catch (IOException e) {
            return "?";
        }
    }

    /** The allow rules in force at run time: the project's own and those of the presets it names. */
    static List<Rule> allowRules(ProjectPolicy project, OrgPolicy org) {
        List<Rule> out = new ArrayList<>(project.allow());
        Map<String, Preset> builtIn = Presets.builtIn();
        for (ProjectPolicy.PresetRef ref : project.presets()) {
            Preset p = builtIn.containsKey(ref.name()) ? builtIn.get(ref.name()) : org.presets().get(ref.name());
            if (p != null) {
                p.rules().stream().filter(r -> r.kind() == Rule.Kind.ALLOW).forEach(out::add);
            }
        }
        return out;
    }

    private static List<String> addresses(Resolver r, String name) {
        return switch (r.resolve(name)) {
            case Resolution.Answer a -> a.addresses().stream().map(Object::toString).toList();
            case Resolution.Failure f -> List.of();
        };
    }

    /** The daemon's TCP API port when one is configured (the daemon writes {@code STATE/daemon.port}). */
    static Optional<Integer> daemonPort(Path state) {
        try {
            String t = Files.readString(state.resolve("daemon.port")).strip();
            return t.matches("[0-9]{1,5}") ? Optional.of(Integer.parseInt(t)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static List<BatteryContext.HiddenPath> hiddenPaths(Path state, Path neighbour, Path canary) {
        Path s = state.toAbsolutePath().normalize();
        List<BatteryContext.HiddenPath> out = new ArrayList<>();
        Map<String, Object[]> candidates = new LinkedHashMap<>();
        candidates.put("state-dir", new Object[] {"Airlock's state directory", s});
        candidates.put("audit-log", new Object[] {"the audit log", s.resolve("audit.log")});
        candidates.put("sandbox-records", new Object[] {"sandbox records", s.resolve("sandboxes")});
        candidates.put("templates", new Object[] {"other projects' templates", s.resolve("templates")});
        candidates.put("workspaces", new Object[] {"other projects' workspaces", s.resolve("workspaces")});
        candidates.put("daemon-db", new Object[] {"the daemon's database", s.resolve("airlock.db")});
        candidates.put("daemon-socket", new Object[] {"the daemon's socket", s.resolve("daemon.sock")});
        candidates.put("daemon-workspaces", new Object[] {"the daemon's pool workspaces", s.resolveSibling(s.getFileName() + "-workspaces")});
        candidates.put("other-project", new Object[] {"another sandbox's workspace", neighbour});
        candidates.put("other-project-file", new Object[] {"a file of another project", canary});
        candidates.put("run-airlock", new Object[] {"Airlock's sockets and leases", Path.of("/run/airlock")});
        candidates.put("docker-socket", new Object[] {"the Docker socket", Path.of("/var/run/docker.sock")});
        candidates.put("root-home", new Object[] {"root's home", Path.of("/root")});
        // The host's users' homes, one by one: the sandbox has a /home of its own (its user's home,
        // docs/sandbox.md), so what must stay absent is each host home, not the name /home.
        for (Path h : hostHomes()) {
            candidates.put("home:" + h.getFileName(), new Object[] {"a home directory of the host", h});
        }
        candidates.put("shadow", new Object[] {"the host's password hashes", Path.of("/etc/shadow")});
        candidates.forEach((id, v) -> {
            Path p = (Path) v[1];
            if (Files.exists(p)) {
                out.add(new BatteryContext.HiddenPath(id, (String) v[0], p));
            }
        });
        return out;
    }

    /** The directories in the host's /home, except one named as the sandbox's own home (it would be that, not the host's). */
    private static List<Path> hostHomes() {
        try (java.util.stream.Stream<Path> homes = Files.list(Path.of("/home"))) {
            return homes.filter(h -> Files.isDirectory(h, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                    .filter(h -> !h.getFileName().toString().equals(dev.airlock.sandbox.SandboxUser.NAME)).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The names of a hosts map, to give wildcard rules concrete names (the gateway's own parser validated the file). */
    static List<String> hostNames(Path hosts) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(hosts, StandardCharsets.UTF_8)) {
            int hash = line.indexOf('#');
            String[] f = (hash >= 0 ? line.substring(0, hash) : line).trim().split("\\s+");
            for (int i = 1; i < f.length; i++) {
                out.add(f[i].toLowerCase(java.util.Locale.ROOT));
            }
        }
        return out;
    }

    static BatteryRun.Hashed hashed(Path p) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
            return new BatteryRun.Hashed(p.toAbsolutePath().normalize().toString(), HexFormat.of().formatHex(d));
        } catch (IOException e) {
            return new BatteryRun.Hashed(p.toString(), "(unreadable: " + e.getMessage() + ")");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static String bound(String s) {
        return s.length() <= 4000 ? s : s.substring(0, 4000) + "\n[... " + (s.length() - 4000) + " more characters]";
    }

    private static void copyResource(String name, Path dir) throws IOException {
        try (InputStream in = AuditRunner.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("resource " + name + " is missing from the jar");
            }
            Path f = dir.resolve(name);
            Files.write(f, in.readAllBytes());
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    /** A host command's stdout, or its error text: only for the report, never for a decision. */
    static String host(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "(" + String.join(" ", cmd) + " did not finish)";
            }
            return p.exitValue() == 0 ? out : "(" + String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out.strip() + ")";
        } catch (IOException e) {
            return "(" + String.join(" ", cmd) + ": " + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(interrupted)";
        }
    }

    /** The audit's work directory, which its sandboxes wrote: removed without following what they planted. */
    private static void deleteTree(AuditWorkDirectory work) {
        try {
            work.close();
        } catch (SandboxException e) {
            System.err.println("airlock audit: could not remove " + work.path() + ": " + e.getMessage());
        }
    }
}
