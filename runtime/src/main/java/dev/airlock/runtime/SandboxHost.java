package dev.airlock.runtime;

import dev.airlock.gateway.audit.AuditSink;
import dev.airlock.gateway.proxy.GatewayMetrics;
import dev.airlock.gateway.proxy.RelayMode;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.gateway.server.GatewayStack;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.model.TrustedCa;
import dev.airlock.sandbox.GatewayPorts;
import dev.airlock.sandbox.KernelOps;
import dev.airlock.sandbox.LinkRange;
import dev.airlock.sandbox.MemberWorkspaces;
import dev.airlock.sandbox.PreparedSandbox;
import dev.airlock.sandbox.Pty;
import dev.airlock.sandbox.Resources;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import dev.airlock.sandbox.SandboxSpec;
import dev.airlock.sandbox.SandboxUser;
import dev.airlock.sandbox.Standby;
import dev.airlock.sandbox.TrustBundle;
import dev.airlock.sandbox.WindowSize;
import dev.airlock.sandbox.WorkspaceProtection;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A host of sandboxes: one egress gateway ({@link GatewayStack}: transparent listener, the explicit
 * proxy behind it, the DNS responder) that every sandbox shares, and one launcher. The daemon's is
 * long-lived with many members; a run's or an audit's ({@link SandboxSession}) is a host of one.
 * {@link #prepare} builds a sandbox completely (network, rules, cgroups, gateway registration, a
 * waiting init), so that {@link #start} only hands the command over.
 *
 * <p>Identity: the gateway knows a sandbox by its link address, registered here with the project's
 * policy before the sandbox has run anything; nothing the sandbox sends can change it.
 */
public final class SandboxHost implements AutoCloseable {

    /**
     * @param meters      where the gateway's metrics are kept
     * @param policyLabel what the gateway's denial bodies call the policy file
     */
    public record Config(Path stateDir, Resolver resolver, AuditSink audit, MeterRegistry meters, int ioThreads, String policyLabel) {
    }

    /** A sandbox of this host, prepared and registered, its init waiting. */
    public record Member(String project, PreparedSandbox sandbox, Standby standby) {
        public String id() {
            return sandbox.id();
        }

        /** The waiting init: alive while the member can take its command. */
        public Process init() {
            return standby.process();
        }

        /** The member's workspace on the host (mounted at /workspace inside). */
        public Path workspace() {
            return sandbox.workspace();
        }

        /** The member's own link address, as the gateway knows it. */
        public String address() {
            return sandbox.sandboxAddress().toString();
        }
    }

    /**
     * Where sandboxes' own files live for a host whose state is {@code state}: the state directory
     * and the member workspaces beside it. Git never runs there on the host.
     */
    public static List<Path> sandboxAreas(Path state) {
        return List.of(state, MemberWorkspaces.root(state));
    }

    private final SandboxLauncher launcher;
    /** False for a host on the caller's launcher ({@link #on}): closing the host leaves the launcher open. */
    private final boolean ownsLauncher;
    private final GatewayStack gateway;
    private final GatewayPorts ports;

    private SandboxHost(SandboxLauncher launcher, boolean ownsLauncher, GatewayStack gateway) {
        this.launcher = launcher;
        this.ownsLauncher = ownsLauncher;
        this.gateway = gateway;
        this.ports = new GatewayPorts(gateway.transparentPort(), gateway.dnsPort());
    }

    /**
     * What this process's relay does with a tunnel's bytes, for the daemon's log: {@code relay: ...}, or
     * {@code warning: ...} when it runs slower than configured (no epoll, or JNA missing), with the cause and the fix.
     * It loads JNA, so call it once the daemon serves.
     */
    public static String relayReport() {
        RelayMode relay = RelayMode.current();
        return (relay.degraded() ? "warning: the relay is slower than configured: " : "relay: ") + relay.line();
    }

    /** On this machine's kernel: checks the host (with a fix for what it lacks), then {@link #start(Config, KernelOps)}. */
    public static SandboxHost start(Config c) throws SandboxException, IOException {
        SandboxLauncher.checkHost();
        return start(c, KernelOps.system());
    }

    /**
     * On {@code kernel}: reaps what crashed runs left, and starts the shared gateway. The audit sink
     * becomes the host's: {@link #close} closes it after the gateway stops.
     */
    public static SandboxHost start(Config c, KernelOps kernel) throws SandboxException, IOException {
        SandboxLauncher launcher = new SandboxLauncher(c.stateDir(), LinkRange.DEFAULT, kernel);
        // the daemon's sandboxes: a Ctrl-C in the terminal that started it stops the daemon, which destroys them in order
        launcher.detachFromTerminal();
        try {
            launcher.reap();
            return new SandboxHost(launcher, true, gateway(GatewayStack.builder(c.resolver(), c.audit(), new GatewayMetrics(c.meters()))
                    .ioThreads(c.ioThreads()).policyLabel(c.policyLabel())));
        } catch (IOException | RuntimeException e) {
            launcher.close();
            throw e;
        }
    }

    /**
     * A host on the caller's {@code launcher} (a run's or an audit's: the cold path, a host of one
     * sandbox), its gateway recording to {@code audit} and counting in memory. {@link #close} stops
     * the gateway and closes {@code audit}, and leaves the launcher open.
     */
    static SandboxHost on(SandboxLauncher launcher, Resolver resolver, AuditSink audit, String policyLabel) throws IOException {
        return new SandboxHost(launcher, false, gateway(GatewayStack.builder(resolver, audit, GatewayMetrics.inMemory())
                .ioThreads(2).policyLabel(policyLabel)));
    }

    private static GatewayStack gateway(GatewayStack.Builder b) throws IOException {
        try {
            return b.forSandboxes().start();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
        return prepare(project, engine, resources, workspace, protection, TrustBundle.SYSTEM);
    }

    /** As {@link #prepare}, with {@code trust}: the CAs the sandbox trusts besides the host's system bundle. */
    public Member prepare(String project, PolicyEngine engine, Resources resources, Path workspace, WorkspaceProtection protection,
            TrustBundle trust) throws SandboxException {
        return prepare(project, engine, new SandboxSpec(project, workspace, resources, ports).withProtection(protection).withTrust(trust));
    }

    /** As {@link #prepare}, trusting {@code trust} (the policies' {@code trust:}) besides the host's system bundle. */
    public Member prepare(String project, PolicyEngine engine, Resources resources, Path workspace, WorkspaceProtection protection,
            List<TrustedCa> trust) throws SandboxException {
        return prepare(project, engine, resources, workspace, protection, TrustBundle.of(trust));
    }

    /** As {@link #prepare}, with a copy-on-write workspace over the template tree {@code template}. */
    public Member prepareOver(String project, PolicyEngine engine, Resources resources, Path template) throws SandboxException {
        return prepareOver(project, engine, resources, template, WorkspaceProtection.DEFAULT);
    }

    /** As {@link #prepareOver}, with {@code protection} (the overlay's .git/hooks and .git/config read-only by default). */
    public Member prepareOver(String project, PolicyEngine engine, Resources resources, Path template, WorkspaceProtection protection)
            throws SandboxException {
        return prepareOver(project, engine, resources, template, protection, TrustBundle.SYSTEM);
    }

    /** As {@link #prepareOver}, with {@code trust}: the CAs the sandbox trusts besides the host's system bundle. */
    public Member prepareOver(String project, PolicyEngine engine, Resources resources, Path template, WorkspaceProtection protection,
            TrustBundle trust) throws SandboxException {
        return prepare(project, engine, SandboxSpec.overTemplate(project, template, resources, ports).withProtection(protection)
                .withTrust(trust));
    }

    /** As {@link #prepareOver}, trusting {@code trust} (the policies' {@code trust:}) besides the host's system bundle. */
    public Member prepareOver(String project, PolicyEngine engine, Resources resources, Path template, WorkspaceProtection protection,
            List<TrustedCa> trust) throws SandboxException {
        return prepareOver(project, engine, resources, template, protection, TrustBundle.of(trust));
    }

    /**
     * As {@link #prepare} ({@code template} empty: over the plain {@code workspace}) or {@link #prepareOver}
     * ({@code template} present), on the unpacked image root {@code image} when present (docs/images.md).
     */
    public Member prepare(String project, PolicyEngine engine, Resources resources, Path workspace, boolean template,
            WorkspaceProtection protection, List<TrustedCa> trust, java.util.Optional<Path> image) throws SandboxException {
        return prepare(project, engine, resources, workspace, template, protection, trust, image, java.util.Optional.empty());
    }

    /**
     * As above, with {@code layer} over the image (docs/images.md, "Setup as root"): a template's
     * sealed root layer for its members, or a root step's writable one. Refused without an image.
     */
    public Member prepare(String project, PolicyEngine engine, Resources resources, Path workspace, boolean template,
            WorkspaceProtection protection, List<TrustedCa> trust, java.util.Optional<Path> image, java.util.Optional<TemplateLayer> layer)
            throws SandboxException {
        SandboxSpec spec = (template ? SandboxSpec.overTemplate(project, workspace, resources, ports)
                : new SandboxSpec(project, workspace, resources, ports)).withProtection(protection).withTrust(TrustBundle.of(trust));
        if (layer.isPresent() && image.isEmpty()) {
            throw new SandboxException("a root layer needs the project's image:; " + project + " has none. Fix: add image: (docs/images.md).");
        }
        return prepare(project, engine, image.isPresent() ? spec.withImage(image.get()).withRootLayer(TemplateLayer.of(layer)) : spec);
    }

    /**
     * As {@link #prepare(String, PolicyEngine, Resources, Path, boolean, WorkspaceProtection, List, java.util.Optional)} over
     * the plain {@code workspace}, its processes running as {@code as} instead of the launcher's user: the daemon's run of a
     * policy it does not pool, as its caller's sudo user.
     */
    public Member prepare(String project, PolicyEngine engine, Resources resources, Path workspace, WorkspaceProtection protection,
            List<TrustedCa> trust, java.util.Optional<Path> image, RunAs as) throws SandboxException {
        SandboxSpec spec = new SandboxSpec(project, workspace, resources, ports).withProtection(protection).withTrust(TrustBundle.of(trust));
        return prepare(project, engine, image.map(spec::withImage).orElse(spec), Optional.of(as.sandboxUser()));
    }

    private Member prepare(String project, PolicyEngine engine, SandboxSpec spec) throws SandboxException {
        return prepare(project, engine, spec, Optional.empty());
    }

    private Member prepare(String project, PolicyEngine engine, SandboxSpec spec, Optional<SandboxUser> as) throws SandboxException {
        PreparedSandbox p = prepareCold(project, engine, spec, as);
        try {
            return new Member(project, p, launcher.standby(p));
        } catch (SandboxException | RuntimeException e) {
            destroy(p);
            throw e;
        }
    }

    /**
     * Builds {@code spec}'s sandbox and registers it with {@code engine}, without a waiting init:
     * its first command starts cold ({@link SandboxLauncher#claim}). On failure nothing is left.
     */
    PreparedSandbox prepareCold(String project, PolicyEngine engine, SandboxSpec spec) throws SandboxException {
        return prepareCold(project, engine, spec, Optional.empty());
    }

    private PreparedSandbox prepareCold(String project, PolicyEngine engine, SandboxSpec spec, Optional<SandboxUser> as)
            throws SandboxException {
        PreparedSandbox p = as.isPresent() ? launcher.prepare(spec, as.get()) : launcher.prepare(spec);
        try {
            gateway.registry().register(p.id(), project, List.of(p.sandboxAddress()), List.of(p.hostAddress()), engine);
            return p;
        } catch (RuntimeException e) {
            destroy(p);
            throw e;
        }
    }

    /** Where this host's gateway listens (on every address; the sandboxes' rules point at these ports). */
    GatewayPorts ports() {
        return ports;
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
        return gateway.registry().swapPolicy(project, from, to);
    }

    /** Puts one member under {@code engine} (one prepared while a reload ran). */
    public void policy(Member m, PolicyEngine engine) {
        gateway.registry().updatePolicyOf(m.id(), engine);
    }

    /** Unregisters the member and removes every kernel object it had. Never throws. */
    public void destroy(Member m) {
        destroy(m.sandbox());
    }

    /** Unregisters {@code p} and removes every kernel object it had. Never throws. */
    void destroy(PreparedSandbox p) {
        gateway.registry().unregister(p.id());
        launcher.destroy(p);
    }

    public SandboxLauncher launcher() {
        return launcher;
    }

    /** Closes the launcher if it is the host's (destroying what it still holds), then stops the gateway and closes the audit sink. */
    @Override
    public void close() {
        if (ownsLauncher) {
            launcher.close();
        }
        gateway.close();
    }
}
