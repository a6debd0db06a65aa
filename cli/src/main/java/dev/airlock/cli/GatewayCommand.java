package dev.airlock.cli;

import dev.airlock.gateway.proxy.GatewayLimits;
import dev.airlock.gateway.server.GatewayServer;
import dev.airlock.policy.Authority;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.load.PolicyException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "gateway",
        mixinStandardHelpOptions = true,
        description = {
            "Run the egress gateway for one project in the foreground: an explicit HTTP/CONNECT proxy,",
            "and optionally the transparent (TPROXY) listener, the DNS responder and /metrics.",
            "Every decision is written to the hash-chained audit log. The policy files are reloaded",
            "when they change; a broken file keeps the old policy in force. Stop with Ctrl-C."
        },
        footer = {"", "Example:",
            "  airlock gateway --policy examples/airlock.yaml --hosts examples/hosts --listen 127.0.0.1:3128 \\",
            "                  --metrics 127.0.0.1:9464 --audit-log /tmp/airlock-audit.log",
            "  HTTPS_PROXY=http://127.0.0.1:3128 curl https://github.com/",
            "", "Exit codes: 0 stopped; 1 invalid policy or options; 125 could not start."})
final class GatewayCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    PolicySources sources;

    @Option(names = "--listen", paramLabel = "ADDR:PORT", defaultValue = "127.0.0.1:3128",
            description = "Explicit proxy address (default: ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--transparent", paramLabel = "ADDR:PORT", description = "Also listen for TPROXY-redirected TCP (root, Linux).")
    String transparent;

    @Option(names = "--dns", paramLabel = "ADDR:PORT", description = "Also answer DNS (UDP and TCP) for the sandbox addresses.")
    String dns;

    @Option(names = "--metrics", paramLabel = "ADDR:PORT", description = "Serve Prometheus metrics at http://ADDR:PORT/metrics.")
    String metrics;

    @Option(names = "--sandbox-address", paramLabel = "IP", description = "A link address whose transparent and DNS traffic is this project's (repeatable).")
    List<String> sandboxAddresses = new ArrayList<>();

    @Option(names = "--dns-clients", paramLabel = "CIDR",
            description = "Also answer DNS from any address in CIDR, as this project's (repeatable; in a cluster: the pod CIDR, behind a"
                    + " NetworkPolicy that lets only the project's agent pods reach the DNS port). Default: only --sandbox-address.")
    List<String> dnsClients = new ArrayList<>();

    @Option(names = "--audit-log", paramLabel = "FILE",
            description = "Audit log (default: $AIRLOCK_STATE/audit.log, else /var/lib/airlock/audit.log as root, else ~/.local/state/airlock/audit.log).")
    Path auditLog;

    @Option(names = "--audit-forward", paramLabel = "URL",
            description = "Also send every audit record, in order, to the daemon's ingest endpoint at the https URL (backend: kubernetes;"
                    + " the daemon's kubernetes.auditUrl). The local log stays the buffer: records wait there while the daemon is away"
                    + " or not trusted. Needs --audit-token-file and --audit-ca-file.")
    String auditForward;

    @Option(names = "--audit-ca-file", paramLabel = "FILE",
            description = "The CA certificate(s), PEM, that the daemon's ingest certificate must chain to, and the only ones trusted for"
                    + " --audit-forward (in a pod: the project's ConfigMap airlock-PROJECT-audit-ca). Read again at every send.")
    Path auditCaFile;

    @Option(names = "--audit-token-file", paramLabel = "FILE", description = "The project's ingest token for --audit-forward (a mounted Secret).")
    Path auditTokenFile;

    @Option(names = "--audit-source", paramLabel = "NAME",
            description = "This gateway's name in the daemon's chain (default: $HOSTNAME, in a pod its name).")
    String auditSource;

    @Option(names = "--fail-open", description = "Allow connections even when the audit log fails. Off by default: Airlock fails closed.")
    boolean failOpen;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "2", description = "Event loop threads (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--max-tunnels", paramLabel = "N", defaultValue = "512",
            description = "Open connections this project may hold; more are answered 429 (default: ${DEFAULT-VALUE}).")
    int maxTunnels;

    @Override
    public Integer call() throws Exception {
        PrintStream err = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.err), true, StandardCharsets.UTF_8);
        GatewayServer.Options options;
        try {
            List<IpAddress> addresses = new ArrayList<>();
            for (String a : sandboxAddresses) {
                if (!(IpLiterals.shape(a) instanceof IpLiterals.Canonical c)) {
                    throw new IllegalArgumentException("--sandbox-address " + a + " is not a canonical IP address");
                }
                addresses.add(c.address());
            }
            List<Cidr> ranges = new ArrayList<>();
            for (String r : dnsClients) {
                if (dns == null) {
                    throw new IllegalArgumentException("--dns-clients " + r + " needs --dns ADDR:PORT: without it no DNS is answered");
                }
                ranges.add(Cidr.parse(r).orElseThrow(() -> new IllegalArgumentException("--dns-clients " + r
                        + " is not a CIDR: write a canonical network address and prefix, such as 10.244.0.0/16")));
            }
            options = new GatewayServer.Options(sources.policy, PolicySources.orgPath(sources.org), Optional.ofNullable(sources.hosts),
                    address("--listen", listen), optional("--transparent", transparent), optional("--dns", dns),
                    optional("--metrics", metrics), auditLog == null ? StateDirectory.auditLog() : auditLog, failOpen, addresses,
                    threads, limits(maxTunnels), ranges, forward());
        } catch (IllegalArgumentException e) {
            spec.commandLine().getErr().println("airlock: " + e.getMessage());
            return ExitCodes.BAD_INPUT;
        }
        GatewayServer server;
        try {
            server = GatewayServer.start(options, err);
        } catch (PolicyException e) {
            PolicyCheckCommand.print(spec.commandLine().getErr(), e.problems());
            return ExitCodes.BAD_INPUT;
        } catch (java.io.IOException | RuntimeException e) {
            spec.commandLine().getErr().println("airlock: the gateway could not start: " + e.getMessage());
            return ExitCodes.AIRLOCK_ERROR;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "airlock-stop"));
        err.println("airlock gateway " + AirlockCommand.version() + ", policy " + options.policy());
        server.endpoints().forEach(e -> err.println("  " + e));
        stopped.await();
        return ExitCodes.OK;
    }

    private Optional<GatewayServer.AuditForward> forward() {
        if (auditForward == null) {
            if (auditTokenFile != null || auditSource != null || auditCaFile != null) {
                throw new IllegalArgumentException("--audit-token-file, --audit-ca-file and --audit-source need --audit-forward URL");
            }
            return Optional.empty();
        }
        java.net.URI url;
        try {
            url = new java.net.URI(auditForward);
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("--audit-forward " + auditForward + " is not a URL: write e.g. https://airlock-daemon.airlock.svc:7071/v1/audit/records");
        }
        if ("http".equals(url.getScheme())) {
            // No opt-out: the project's token and every record would cross the network readable and forgeable.
            throw new IllegalArgumentException("--audit-forward " + auditForward + " is plain http: the token and the records would cross the"
                    + " network unencrypted. Fix: write https:// (the daemon's ingest speaks only TLS) and give --audit-ca-file");
        }
        if (!"https".equals(url.getScheme()) || url.getHost() == null) {
            throw new IllegalArgumentException("--audit-forward " + auditForward + ": write an https:// URL with a host,"
                    + " e.g. https://airlock-daemon.airlock.svc:7071/v1/audit/records");
        }
        if (auditTokenFile == null) {
            throw new IllegalArgumentException("--audit-forward needs --audit-token-file FILE: the daemon takes records only with the project's token");
        }
        if (!java.nio.file.Files.isReadable(auditTokenFile)) {
            throw new IllegalArgumentException("--audit-token-file " + auditTokenFile + " cannot be read: give the file of the project's ingest token");
        }
        if (auditCaFile == null) {
            throw new IllegalArgumentException("--audit-forward needs --audit-ca-file FILE: the CA certificate the daemon's ingest certificate"
                    + " must chain to (in a pod: ConfigMap airlock-PROJECT-audit-ca, key ca.crt); no other CA is trusted");
        }
        if (!java.nio.file.Files.isReadable(auditCaFile)) {
            throw new IllegalArgumentException("--audit-ca-file " + auditCaFile + " cannot be read: give the daemon's CA certificate (PEM)");
        }
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(auditCaFile)) {
            if (java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
                throw new java.security.cert.CertificateException("no certificate in it");
            }
        } catch (java.io.IOException | java.security.cert.CertificateException e) {
            throw new IllegalArgumentException("--audit-ca-file " + auditCaFile + " is not PEM certificates (" + e.getMessage() + "): give the"
                    + " daemon's CA certificate, -----BEGIN CERTIFICATE----- ... (ConfigMap airlock-PROJECT-audit-ca, key ca.crt)");
        }
        String source = auditSource != null ? auditSource : Optional.ofNullable(System.getenv("HOSTNAME")).filter(h -> !h.isBlank()).orElse("gateway");
        if (!source.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,252}")) {
            throw new IllegalArgumentException("--audit-source " + source + ": use letters, digits, '.', '_' and '-' (a pod name)");
        }
        return Optional.of(new GatewayServer.AuditForward(url, auditTokenFile, auditCaFile, source));
    }

    private static GatewayLimits limits(int maxTunnels) {
        if (maxTunnels < 1 || maxTunnels > 1_000_000) {
            throw new IllegalArgumentException("--max-tunnels " + maxTunnels + ": write a number from 1 to 1000000");
        }
        GatewayLimits d = GatewayLimits.DEFAULT;
        return new GatewayLimits(maxTunnels, Math.max(maxTunnels, d.tunnelsTotal()), d.headerReadTimeout(), d.idleTimeout(),
                d.connectTimeout(), d.maxHeaderBytes(), d.maxResolutions());
    }

    private static Optional<InetSocketAddress> optional(String option, String value) {
        return value == null ? Optional.empty() : Optional.of(address(option, value));
    }

    static InetSocketAddress address(String option, String value) {
        if (!(Authority.parse(value, -1) instanceof Authority.Ok ok)) {
            throw new IllegalArgumentException(option + " " + value + ": write ADDRESS:PORT, such as 127.0.0.1:3128");
        }
        String host = ok.authority().host();
        if (host.startsWith("[")) {
            host = host.substring(1, host.length() - 1);
        }
        if (!(IpLiterals.shape(host) instanceof IpLiterals.Canonical)) {
            throw new IllegalArgumentException(option + " " + value + ": the address must be an IP address, such as 127.0.0.1");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), ok.authority().port());
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(option + " " + value + ": " + e.getMessage());
        }
    }
}
