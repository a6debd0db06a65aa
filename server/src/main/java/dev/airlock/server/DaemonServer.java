package dev.airlock.server;

import dev.airlock.runtime.SandboxHost;
import dev.airlock.sandbox.SandboxLauncher;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * {@code airlock daemon}: the {@link Daemon} behind its API, for as long as the process lives. One
 * daemon per state directory (an exclusive lock on {@code STATE/daemon.lock}, which the kernel
 * releases when the process dies, even by {@code kill -9}).
 */
public final class DaemonServer implements AutoCloseable {

    private final FileChannel lockFile;
    /** The daemon on this host ({@code backend: local}), or null on a cluster. */
    private final Daemon daemon;
    /** The daemon on a cluster ({@code backend: kubernetes}), or null on this host. */
    private final ClusterDaemon cluster;
    private final ApiServer api;

    private DaemonServer(FileChannel lockFile, Daemon daemon, ClusterDaemon cluster, ApiServer api) {
        this.lockFile = lockFile;
        this.daemon = daemon;
        this.cluster = cluster;
        this.api = api;
    }

    /** As {@link #start(DaemonConfig, PrintStream, String)} with the version the jar names ("dev" in a build tree). */
    public static DaemonServer start(DaemonConfig config, PrintStream log) throws DaemonException {
        String v = DaemonServer.class.getPackage().getImplementationVersion();
        return start(config, log, v == null ? "dev" : v);
    }

    /** {@code version}: Airlock's, part of every template's environment hash. */
    public static DaemonServer start(DaemonConfig config, PrintStream log, String version) throws DaemonException {
        Optional<String> token = Optional.empty();
        Optional<InetSocketAddress> tcp = Optional.empty();
        if (config.listen().isPresent()) {
            token = Optional.of(readToken(config.tokenFile().orElseThrow()));
            tcp = Optional.of(address(config.listen().get()));
        }
        FileChannel lock = lock(config.state());
        if (config.backend() instanceof DaemonBackend.Kubernetes k) {
            return startOnCluster(config, k, log, lock, tcp, token, dev.airlock.k8s.KubeClients::connect);
        }
        Daemon daemon = null;
        try {
            daemon = Daemon.start(config, log, version);
            ApiServer api = ApiServer.start(daemon, config.socket(), tcp, token);
            // for the audit battery's probe of the API from inside a sandbox
            Path port = config.state().resolve("daemon.port");
            if (api.tcpAddress().isPresent()) {
                Files.writeString(port, Integer.toString(api.tcpAddress().get().getPort()));
            } else {
                Files.deleteIfExists(port);
            }
            log.println("airlock daemon: serving " + daemon.projects().keySet() + " on " + config.socket()
                    + api.tcpAddress().map(a -> " and " + a.getHostString() + ":" + a.getPort()).orElse(""));
            // After "serving": the first tunnel would load JNA anyway, and a client need not wait for it.
            log.println("airlock daemon: " + SandboxHost.relayReport());
            return new DaemonServer(lock, daemon, null, api);
        } catch (IOException | DaemonException | RuntimeException e) {
            if (daemon != null) {
                daemon.close();
            }
            closeQuietly(lock);
            throw e instanceof DaemonException de ? de : new DaemonException(e.getMessage());
        }
    }

    /** As {@link #start(DaemonConfig, PrintStream, String)} on a cluster, connecting through {@code connect} (a test's client, or the kubeconfig's). */
    static DaemonServer startOnCluster(DaemonConfig config, DaemonBackend.Kubernetes k, PrintStream log, ClusterDaemon.Connect connect)
            throws DaemonException {
        Optional<String> token = Optional.empty();
        Optional<InetSocketAddress> tcp = Optional.empty();
        if (config.listen().isPresent()) {
            token = Optional.of(readToken(config.tokenFile().orElseThrow()));
            tcp = Optional.of(address(config.listen().get()));
        }
        return startOnCluster(config, k, log, lock(config.state()), tcp, token, connect);
    }

    private static DaemonServer startOnCluster(DaemonConfig config, DaemonBackend.Kubernetes k, PrintStream log, FileChannel lock,
            Optional<InetSocketAddress> tcp, Optional<String> token, ClusterDaemon.Connect connect) throws DaemonException {
        ClusterDaemon cluster = null;
        try {
            cluster = ClusterDaemon.start(config, k, log, connect);
            ClusterDaemon d = cluster;
            java.util.Map<String, ClusterApiHandler.Held> claims = ClusterApiHandler.newClaims();
            ApiServer api = ApiServer.startWith(t -> new ClusterApiHandler(d, claims, t), config.socket(), tcp, token);
            Files.deleteIfExists(config.state().resolve("daemon.port"));
            log.println("airlock daemon: serving " + d.projects() + " as pods in namespace " + k.namespace() + " on " + config.socket()
                    + api.tcpAddress().map(a -> " and " + a.getHostString() + ":" + a.getPort()).orElse(""));
            return new DaemonServer(lock, null, d, api);
        } catch (IOException | DaemonException | RuntimeException e) {
            if (cluster != null) {
                cluster.close();
            }
            closeQuietly(lock);
            throw e instanceof DaemonException de ? de : new DaemonException(e.getMessage());
        }
    }

    private static FileChannel lock(Path state) throws DaemonException {
        try {
            Files.createDirectories(state);
            FileChannel ch = FileChannel.open(state.resolve("daemon.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock l = ch.tryLock();
            if (l == null) {
                ch.close();
                throw new DaemonException("another daemon runs on " + state + ". Fix: stop it first, or give this one another `state:`.");
            }
            return ch;
        } catch (IOException e) {
            throw new DaemonException("cannot lock " + state.resolve("daemon.lock") + ": " + e.getMessage() + ". Fix: run as root.");
        }
    }

    /**
     * Removes the member workspaces no sandbox holds when no daemon runs on {@code state}: those a
     * daemon killed between creating a workspace and recording its sandbox left ({@code airlock gc}).
     * Only the daemon creates member workspaces, so holding its lock makes the sweep safe. Empty
     * when a daemon runs there (its start-up sweep does this) or {@code state} has no lock file yet.
     */
    public static Optional<List<String>> sweepMemberWorkspacesIfNoDaemon(Path state, SandboxLauncher launcher) throws IOException {
        Path lock = state.resolve("daemon.lock");
        if (!Files.isRegularFile(lock, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS); FileLock l = ch.tryLock()) {
            return l == null ? Optional.empty() : Optional.of(launcher.sweepMemberWorkspaces());
        }
    }

    /**
     * Removes the daemon's kept work (docs/daemon.md, "Getting the work back") whose retention
     * window has passed ({@code airlock gc}); each entry carries its own deadline, so no
     * configuration is needed. Work still inside its window is never touched.
     */
    public static List<String> sweepExpiredWork(Path state, dev.airlock.sandbox.KernelOps kernel) {
        return new KeptWork(state, java.time.Clock.systemUTC(), kernel).sweep(Optional.empty());
    }

    static String readToken(Path file) throws DaemonException {
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.contains(PosixFilePermission.OTHERS_READ) || perms.contains(PosixFilePermission.GROUP_READ)) {
                throw new DaemonException(file + ": the token file is readable by others. Fix: chmod 600 " + file + ".");
            }
            String t = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (t.length() < 32 || t.lines().count() != 1) {
                throw new DaemonException(file + ":1: the token must be one line of at least 32 characters."
                        + " Fix: e.g. `openssl rand -hex 32 > " + file + "`.");
            }
            return t;
        } catch (IOException e) {
            throw new DaemonException(file + ": cannot read the token: " + e.getMessage() + ". Fix: create it (mode 600).");
        }
    }

    private static InetSocketAddress address(String listen) throws DaemonException {
        int colon = listen.lastIndexOf(':');
        String host = listen.substring(0, colon).replace("[", "").replace("]", "");
        int port = Integer.parseInt(listen.substring(colon + 1));
        if (port > 65535) {
            throw new DaemonException("listen " + listen + ": port over 65535. Fix: e.g. 127.0.0.1:7070.");
        }
        try {
            // a literal (DaemonConfig checked its shape): no name lookup happens
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (IOException e) {
            throw new DaemonException("listen " + listen + ": not an IP address. Fix: e.g. 127.0.0.1:7070.");
        }
    }

    /** The daemon on this host; a daemon on a cluster ({@code backend: kubernetes}) has none. */
    public Daemon daemon() {
        if (daemon == null) {
            throw new IllegalStateException("this daemon runs on Kubernetes (backend: kubernetes): it has no local sandboxes");
        }
        return daemon;
    }

    public Optional<InetSocketAddress> tcpAddress() {
        return api.tcpAddress();
    }

    @Override
    public void close() {
        if (cluster != null) {
            cluster.stopPools(); // cold claims still waiting are answered before the connections close
        }
        api.close();
        if (daemon != null) {
            daemon.close();
        }
        if (cluster != null) {
            cluster.close();
        }
        closeQuietly(lockFile);
    }

    private static void closeQuietly(FileChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // the lock goes with the process anyway
        }
    }
}
