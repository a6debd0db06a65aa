package dev.airlock.runtime;

import dev.airlock.gateway.audit.AuditSink;
import dev.airlock.gateway.dns.DnsAnswerer;
import dev.airlock.gateway.dns.DnsResponder;
import dev.airlock.gateway.proxy.Gateway;
import dev.airlock.gateway.proxy.GatewayLimits;
import dev.airlock.gateway.proxy.GatewayMetrics;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.sandbox.GatewayPorts;
import dev.airlock.sandbox.PreparedSandbox;
import dev.airlock.sandbox.Pty;
import dev.airlock.sandbox.Resources;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import dev.airlock.sandbox.SandboxSpec;
import dev.airlock.sandbox.Standby;
import dev.airlock.sandbox.WindowSize;
import dev.airlock.sandbox.WorkspaceProtection;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One long-lived host of many sandboxes (the daemon's): one egress gateway (transparent listener,
 * the explicit proxy behind it, the DNS responder) that every sandbox shares, and one launcher.
 * {@link #prepare} builds a sandbox completely (network, rules, cgroups, gateway registration, a
 * waiting init), so that {@link #start} only hands the command over.
 *
 * <p>Identity: the gateway knows a sandbox by its link address, registered here with the project's
 * policy before the sandbox has run anything; nothing the sandbox sends can change it.
 */
public final class SandboxHost implements AutoCloseable {


    public record Config(Path stateDir, Resolver resolver, AuditSink audit, GatewayMetrics metrics, int ioThreads) {
    }

    /** A sandbox of this host, prepared and registered, its init waiting. */
    public record Member(String project, PreparedSandbox sandbox, Standby standby) {
        public String id() {
            return sandbox.id();
        }
    }

    private final SandboxLauncher launcher;
    private final SandboxRegistry registry;
    private final Gateway gateway;
    private final DnsResponder dns;
    private final GatewayPorts ports;

    private SandboxHost(SandboxLauncher launcher, SandboxRegistry registry, Gateway gateway, DnsResponder dns, GatewayPorts ports) {
        this.launcher = launcher;
        this.registry = registry;
        this.gateway = gateway;
        this.dns = dns;
        this.ports = ports;
    }

    /** Checks the host, reaps what crashed runs left, and starts the shared gateway. */
    public static SandboxHost start(Config c) throws SandboxException, IOException {
        SandboxLauncher.checkHost();
        SandboxLauncher launcher = SandboxLauncher.system(c.stateDir());
        Gateway gateway = null;
        DnsResponder dns = null;
        try {
            launcher.reap();
            SandboxRegistry registry = new SandboxRegistry();
            gateway = new Gateway(new Gateway.Config(c.resolver(), c.audit(), c.metrics(), GatewayLimits.DEFAULT, c.ioThreads(), false,
                    "daemon"), registry);
            InetAddress any = InetAddress.getByName("0.0.0.0");
            int transparent = gateway.transparentListener(new InetSocketAddress(any, 0)).getPort();
            gateway.explicitOnTransparent(SandboxSession.EXPLICIT_PORT);
            dns = new DnsResponder(DnsResponder.Settings.defaults(new InetSocketAddress(any, 0)), registry, new DnsAnswerer(c.resolver()),
                    c.audit());
            dns.start();
            return new SandboxHost(launcher, registry, gateway, dns, new GatewayPorts(transparent, dns.udpPort()));
        } catch (IOException | RuntimeException e) {
            if (dns != null) {
                dns.close();
            }
            if (gateway != null) {
                gateway.close();
            }
            launcher.close();
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            launcher.close();
            throw new IOException("interrupted while starting the gateway", e);
        }
    }

    /**
     * Builds a sandbox for {@code project} whose workspace is {@code workspace}, registers it with
     * {@code engine} at the gateway, and starts its init. On failure nothing is left.
     */
    public Member prepare(String project, PolicyEngine engine, Resources resources, Path workspace) throws SandboxException {
        return prepare(project, engine, resources, workspace, WorkspaceProtection.DEFAULT);
    }

    /** As {@link #prepare}, with {@code protection} saying what of the workspace stays read-only inside the sandbox. */
    public Member prepare(String project, PolicyEngine engine, Resources resources, Path workspace, WorkspaceProtection protection)
            throws SandboxException {
        return prepare(project, engine, new SandboxSpec(project, workspace, resources, ports).withProtection(protection));
    }

    /** As {@link #prepare}, with a copy-on-write workspace over the template tree {@code template}. */
    public Member prepareOver(String project, PolicyEngine engine, Resources resources, Path template) throws SandboxException {
        return prepareOver(project, engine, resources, template, WorkspaceProtection.DEFAULT);
    }

    /** As {@link #prepareOver}, with {@code protection} (the overlay's .git/hooks and .git/config read-only by default). */
    public Member prepareOver(String project, PolicyEngine engine, Resources resources, Path template, WorkspaceProtection protection)
            throws SandboxException {
        return prepare(project, engine, SandboxSpec.overTemplate(project, template, resources, ports).withProtection(protection));
    }

    /**
     * As {@link #prepare} ({@code template} empty: over the plain {@code workspace}) or {@link #prepareOver}
     * ({@code template} present), on the unpacked image root {@code image} when present (docs/images.md).
     */
    public Member prepare(String project, PolicyEngine engine, Resources resources, Path workspace, boolean template,
            WorkspaceProtection protection, java.util.Optional<Path> image) throws SandboxException {
        SandboxSpec spec = (template ? SandboxSpec.overTemplate(project, workspace, resources, ports)
                : new SandboxSpec(project, workspace, resources, ports)).withProtection(protection);
        return prepare(project, engine, image.isPresent() ? spec.withImage(image.get()) : spec);
    }

    private Member prepare(String project, PolicyEngine engine, SandboxSpec spec) throws SandboxException {
        PreparedSandbox p = launcher.prepare(spec);
        try {
            registry.register(p.id(), project, List.of(p.sandboxAddress()), List.of(p.hostAddress()), engine);
            return new Member(project, p, launcher.standby(p));
        } catch (SandboxException | RuntimeException e) {
            registry.unregister(p.id());
            launcher.destroy(p);
            throw e;
        }
    }

    /** Hands {@code command} to the member's waiting init, with the sandbox's environment over {@code env}. */
    public Process start(Member m, List<String> command, Map<String, String> env) throws SandboxException {
        m.standby().go(command, environment(m, env));
        return m.standby().process();
    }

    /** One more command in a member that already runs one (a fresh bubblewrap in the same sandbox). */
    public Process exec(Member m, List<String> command, Map<String, String> env) throws SandboxException {
        return launcher.exec(m.sandbox(), command, environment(m, env), ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE);
    }

    /**
     * As {@link #start}, on a terminal of its own in the sandbox ({@link dev.airlock.sandbox.Pty}),
     * of {@code size}: the command's stdin, stdout, stderr and controlling terminal.
     */
    public TerminalCommand startWithTerminal(Member m, List<String> command, Map<String, String> env, WindowSize size)
            throws SandboxException {
        Pty pty = launcher.terminal(m.standby(), size);
        try {
            m.standby().go(command, environment(m, env), pty);
        } catch (SandboxException | RuntimeException e) {
            pty.close();
            throw e;
        }
        return new TerminalCommand(m.standby().process(), pty);
    }

    /** As {@link #exec}, on a terminal of its own (see {@link #startWithTerminal}). */
    public TerminalCommand execWithTerminal(Member m, List<String> command, Map<String, String> env, WindowSize size)
            throws SandboxException {
        Standby s = launcher.standbyExec(m.sandbox());
        Pty pty = null;
        try {
            pty = launcher.terminal(s, size);
            s.go(command, environment(m, env), pty);
            return new TerminalCommand(s.process(), pty);
        } catch (SandboxException | RuntimeException e) {
            if (pty != null) {
                pty.close();
            }
            s.process().destroyForcibly();
            throw e;
        }
    }

    /**
     * What every command in a member sees: the explicit proxy, the loopback exemption (NO_PROXY,
     * merged with the caller's), the sandbox's identity, then the caller's.
     */
    public static Map<String, String> environment(Member m, Map<String, String> env) {
        return SandboxSession.withCaller(SandboxSession.environment(m.sandbox(), m.project()), env);
    }

    /**
     * A policy reload: the members of {@code project} under {@code from} decide with {@code to}
     * from their next connection on (other sandboxes of the project, such as template setups under
     * their setup-phase engine, keep theirs). Returns how many switched.
     */
    public int swapPolicy(String project, PolicyEngine from, PolicyEngine to) {
        return registry.swapPolicy(project, from, to);
    }

    /** Puts one member under {@code engine} (one prepared while a reload ran). */
    public void policy(Member m, PolicyEngine engine) {
        registry.updatePolicyOf(m.id(), engine);
    }

    /** Unregisters the member and removes every kernel object it had. Never throws. */
    public void destroy(Member m) {
        registry.unregister(m.id());
        launcher.destroy(m.sandbox());
    }

    public SandboxLauncher launcher() {
        return launcher;
    }

    @Override
    public void close() {
        launcher.close();
        dns.close();
        gateway.close();
    }
}
