package dev.airlock.runtime;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditLog;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.gateway.server.GatewayStack;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.sandbox.GatewayPorts;
import dev.airlock.sandbox.PreparedSandbox;
import dev.airlock.sandbox.ReapReport;
import dev.airlock.sandbox.Pty;
import dev.airlock.sandbox.Resources;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import dev.airlock.sandbox.SandboxSpec;
import dev.airlock.sandbox.Standby;
import dev.airlock.sandbox.TrustBundle;
import dev.airlock.sandbox.WindowSize;
import dev.airlock.sandbox.WorkspaceProtection;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One sandbox with its gateway kept open while the caller drives it: what {@code airlock audit}
 * needs (start a command with pipes, look at the rules in force, prepare a neighbour sandbox, read
 * the decisions) and {@link SandboxRun} does not expose. It is a {@link SandboxHost} with one
 * member, wired as the daemon's host is: the gateway listens before the rules point at it, the
 * sandbox is registered before any command starts, and {@link #close} destroys the sandboxes before
 * the gateway stops.
 */
public final class SandboxSession implements AutoCloseable {

    /** The port of the explicit proxy, reached through the transparent listener (as in {@link SandboxRun}). */
    public static final int EXPLICIT_PORT = GatewayStack.EXPLICIT_PORT;

    private final SandboxHost host;
    private final RunEvents events;
    private final PreparedSandbox sandbox;
    private final List<PreparedSandbox> others = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final ProjectPolicy project;
    private boolean closed;

    private SandboxSession(SandboxHost host, RunEvents events, PreparedSandbox sandbox, ProjectPolicy project) {
        this.host = host;
        this.events = events;
        this.sandbox = sandbox;
        this.project = project;
    }

    /**
     * This host's launcher for a cold run or an audit (call {@link SandboxLauncher#checkHost()}
     * first), after reaping what earlier runs left (a crash, a kill -9); what it removed, or could
     * not, is reported on {@code err}. The caller closes it.
     */
    public static SandboxLauncher launcher(Path stateDir, PrintStream err) {
        SandboxLauncher launcher = SandboxLauncher.system(stateDir);
        ReapReport reaped = launcher.reap();
        if (!reaped.removed().isEmpty() || !reaped.failures().isEmpty()) {
            err.println("airlock: removed leftovers of earlier runs: " + reaped);
        }
        return launcher;
    }

    /**
     * Starts a gateway (audit records to {@code auditLog}) and prepares one sandbox for
     * {@code project} under {@code engine}, with {@code workspace} at /workspace. The launcher is the
     * caller's and stays open; on failure everything built here is removed.
     */
    public static SandboxSession open(SandboxLauncher launcher, Path auditLog, ProjectPolicy project, PolicyEngine engine,
            Resolver resolver, Path workspace) throws IOException, SandboxException, InterruptedException {
        return open(launcher, auditLog, project, engine, resolver, workspace,
                new WorkspaceProtection(!project.writableGitConfig(), List.of()));
    }

    /** As above, with {@code protection} saying what of the workspace stays read-only inside the sandbox; the project's own CAs trusted. */
    public static SandboxSession open(SandboxLauncher launcher, Path auditLog, ProjectPolicy project, PolicyEngine engine,
            Resolver resolver, Path workspace, WorkspaceProtection protection) throws IOException, SandboxException, InterruptedException {
        return open(launcher, auditLog, project, engine, resolver, workspace, protection, TrustBundle.of(project.trust()));
    }

    /** As above, with {@code trust}: the CAs the sandbox trusts besides the host's system bundle (the organisation's and the project's). */
    public static SandboxSession open(SandboxLauncher launcher, Path auditLog, ProjectPolicy project, PolicyEngine engine,
            Resolver resolver, Path workspace, WorkspaceProtection protection, TrustBundle trust)
            throws IOException, SandboxException, InterruptedException {
        return open(launcher, auditLog, project, engine, resolver, workspace, protection, trust, dev.airlock.sandbox.RootLayer.NONE);
    }

    /** As above, with {@code layer} over the project's image (a template's root steps: docs/images.md, "Setup as root"). */
    public static SandboxSession open(SandboxLauncher launcher, Path auditLog, ProjectPolicy project, PolicyEngine engine,
            Resolver resolver, Path workspace, WorkspaceProtection protection, TrustBundle trust, dev.airlock.sandbox.RootLayer layer)
            throws IOException, SandboxException, InterruptedException {
        // The project's image (docs/images.md) is unpacked, once per digest, before anything else is built.
        java.util.Optional<dev.airlock.sandbox.ImageStore.Unpacked> image = ProjectImage.unpack(launcher, project);
        RunEvents events = new RunEvents(AuditLog.open(auditLog, Clock.systemUTC()));
        // A host of one on the caller's launcher: the gateway listens before the rules point at it,
        // and the sandbox is registered before any command starts.
        SandboxHost host = SandboxHost.on(launcher, resolver, events, project.file());
        try {
            ProjectPolicy.Resources r = project.resources();
            SandboxSpec spec = new SandboxSpec(project.project(), workspace, new Resources(r.memoryBytes(), r.cpus(), r.pids()), host.ports())
                    .withProtection(protection).withTrust(trust);
            if (!(layer instanceof dev.airlock.sandbox.RootLayer.None) && image.isEmpty()) {
                throw new SandboxException("a root layer needs the project's image:, and " + project.file() + " has none."
                        + " Fix: add image: (docs/images.md), or drop root: true.");
            }
            PreparedSandbox prepared = host.prepareCold(project.project(), engine,
                    image.isPresent() ? spec.withImage(image.get().root()).withRootLayer(layer) : spec);
            return new SandboxSession(host, events, prepared, project);
        } catch (SandboxException | RuntimeException e) {
            host.close();
            throw e;
        }
    }

    public PreparedSandbox sandbox() {
        return sandbox;
    }

    /** The gateway's ports on the host: the transparent TCP listener and the DNS responder. */
    public GatewayPorts gatewayPorts() {
        return host.ports();
    }

    /** {@code http://<host link address>:3128}, as HTTP_PROXY is set in the sandbox. */
    public String proxyUrl() {
        return "http://" + sandbox.hostAddress() + ":" + EXPLICIT_PORT;
    }

    /** The environment {@code airlock run} gives a command: the proxies and the sandbox's identity. */
    public Map<String, String> environment() {
        return environment(sandbox, project.project());
    }

    /**
     * What {@code NO_PROXY} and {@code no_proxy} always cover: the sandbox's own loopback, so that a
     * server the agent starts inside the sandbox answers there instead of going to the gateway
     * (which denies loopback). {@code 127.0.0.1} besides the CIDR: clients that match no_proxy by
     * name or suffix only (curl before 7.86, wget) still skip the proxy for it.
     */
    static final List<String> LOOPBACK_NO_PROXY = List.of("localhost", "127.0.0.1", "127.0.0.0/8", "::1");

    /**
     * The proxies (the explicit proxy on the sandbox's gateway address), the loopback exemption
     * ({@link #LOOPBACK_NO_PROXY}) and the identity of sandbox {@code s} of {@code project}.
     */
    static Map<String, String> environment(PreparedSandbox s, String project) {
        Map<String, String> env = new LinkedHashMap<>();
        String proxy = "http://" + s.hostAddress() + ":" + EXPLICIT_PORT;
        for (String k : List.of("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")) {
            env.put(k, proxy);
        }
        String noProxy = String.join(",", LOOPBACK_NO_PROXY);
        env.put("NO_PROXY", noProxy);
        env.put("no_proxy", noProxy);
        env.put("AIRLOCK_SANDBOX", s.id());
        env.put("AIRLOCK_PROJECT", project);
        return env;
    }

    /**
     * The sandbox's environment with the caller's over it, except that the caller's
     * {@code NO_PROXY}/{@code no_proxy} is merged with (never replaces) the loopback exemption.
     */
    static Map<String, String> withCaller(Map<String, String> sandbox, Map<String, String> caller) {
        Map<String, String> all = new LinkedHashMap<>(sandbox);
        all.putAll(caller);
        for (String k : List.of("NO_PROXY", "no_proxy")) {
            java.util.LinkedHashSet<String> entries = new java.util.LinkedHashSet<>();
            for (String v : List.of(caller.getOrDefault(k, ""), sandbox.getOrDefault(k, ""))) {
                for (String e : v.split(",")) {
                    if (!e.isBlank()) {
                        entries.add(e.strip());
                    }
                }
            }
            entries.addAll(LOOPBACK_NO_PROXY);
            all.put(k, String.join(",", entries));
        }
        return all;
    }

    /** Starts {@code command} in the sandbox as its user, with stdin, stdout and stderr as pipes. */
    public Process start(List<String> command, Map<String, String> extraEnv) throws SandboxException {
        return start(command, extraEnv, ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE);
    }

    /** Starts {@code command} in the sandbox as its user with the given stdio. */
    public Process start(List<String> command, Map<String, String> extraEnv, ProcessBuilder.Redirect in, ProcessBuilder.Redirect out,
            ProcessBuilder.Redirect err) throws SandboxException {
        Map<String, String> env = withCaller(environment(), extraEnv);
        Process p = host.launcher().claim(sandbox, command, env, in, out, err);
        processes.add(p);
        return p;
    }

    /**
     * Starts {@code command} in the sandbox as its user on a terminal of its own
     * ({@link dev.airlock.sandbox.Pty}, in the sandbox's devpts) of {@code size}: never the
     * caller's terminal, which the sandbox could push keystrokes into.
     */
    public TerminalCommand startWithTerminal(List<String> command, Map<String, String> extraEnv, WindowSize size) throws SandboxException {
        Map<String, String> env = withCaller(environment(), extraEnv);
        Standby s = host.launcher().standby(sandbox);
        processes.add(s.process());
        Pty pty = host.launcher().terminal(s, size);
        try {
            s.go(command, env, pty);
        } catch (SandboxException | RuntimeException e) {
            pty.close();
            throw e;
        }
        return new TerminalCommand(s.process(), pty);
    }

    /**
     * Prepares a second sandbox (no command, not registered at the gateway): a neighbour whose
     * addresses the first must not reach. Destroyed by {@link #close}.
     */
    public PreparedSandbox neighbour(Path workspace) throws SandboxException {
        PreparedSandbox n = host.launcher().prepare(new SandboxSpec(project.project(), workspace, Resources.DEFAULT,
                gatewayPorts()));
        others.add(n);
        return n;
    }

    /** This session's decisions so far, in the order the gateway submitted them. */
    public List<AuditEvent> events() {
        return events.events();
    }

    /** Idempotent: the second call does nothing. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Process p : processes) {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
        for (PreparedSandbox n : others) {
            host.launcher().destroy(n);
        }
        host.destroy(sandbox);
        // the gateway stops, then the audit log closes; the launcher stays the caller's
        host.close();
    }
}
