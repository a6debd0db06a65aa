package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditLogReader;
import dev.airlock.gateway.audit.AuditRecord;
import dev.airlock.gateway.audit.ChainHead;
import dev.airlock.k8s.ControlPlane;
import dev.airlock.k8s.ControlPlaneExtension;
import dev.airlock.server.DaemonConfig;
import dev.airlock.server.DaemonServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12: a gateway's audit records reach the daemon's one hash chain. The real {@code airlock
 * gateway} runs as its own process (as in the gateway pod; no kubelet runs pods here), forwarding to
 * a daemon on {@code backend: kubernetes} against a real kube-apiserver, with the token from the
 * Secret the daemon made. It decides connections to a test host on loopback (opened by an org
 * exception) and to names it refuses; names resolve only through a hosts file. The ingest is TLS,
 * with the CA the daemon made and keeps in its Secret. Shown: a daemon certificate that the
 * gateway's CA file did not sign is refused before anything is sent (the same records arrive once
 * the file holds the daemon's CA, published in the project's ConfigMap), a wrong token is refused (the same records arrive once the right one is in the file), the gateway killed with
 * SIGKILL and restarted while the daemon is down loses and repeats nothing, and the daemon's chain
 * verifies with every record of the gateway's own log, once, in order.
 */
@ExtendWith(ControlPlaneExtension.class)
class AuditForwardIT {

    private static final String SOURCE = "airlock-payments-gateway-6b9f7c-abcde";

    @Test
    void gatewayRecords_reachTheDaemonsChain_onceEach_throughWrongTokenKillAndDaemonOutage(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        try (ServerSocket testHost = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            AtomicInteger served = new AtomicInteger();
            Thread host = Thread.ofVirtual().start(() -> serve(testHost, served));
            int hostPort = testHost.getLocalPort();
            int ingestPort = freePort();
            Files.writeString(dir.resolve("airlock.yaml"), "version: 1\nproject: payments\nnetwork:\n  allow:\n    - host: allowed.test\n      ports: ["
                    + hostPort + "]\n");
            Path org = Files.writeString(dir.resolve("org.yaml"), "version: 1\nexceptions:\n  - { project: payments, cidr: 127.0.0.1/32, ports: ["
                    + hostPort + "] }\n");
            Path hosts = Files.writeString(dir.resolve("hosts"), "127.0.0.1 allowed.test\n");
            Path config = Files.writeString(dir.resolve("daemon.yaml"), "version: 1\nstate: state\nsocket: state/daemon.sock\norg: org.yaml\n"
                    + "backend: kubernetes\nkubernetes:\n  kubeconfig: " + cp.kubeconfig() + "\n  namespace: " + ns + "\n"
                    + "  gatewayImage: registry.test/airlock:0.1.0\n  agentImage: registry.test/devbox:1\n"
                    + "  auditListen: 127.0.0.1:" + ingestPort + "\n  auditUrl: https://127.0.0.1:" + ingestPort + "/v1/audit/records\n"
                    + "projects:\n  - policy: airlock.yaml\n    size: 0\n");
            Path daemonChain = dir.resolve("state/audit.log");
            Path gwLog = dir.resolve("gw/audit.log");
            Path token = dir.resolve("gw/token");
            Files.createDirectories(token.getParent());
            Files.writeString(token, "0".repeat(64) + "\n"); // not the project's token
            Path caFile = dir.resolve("gw/ca.crt");
            Files.writeString(caFile, otherCa()); // not the daemon's CA

            DaemonServer daemon = DaemonServer.start(DaemonConfig.load(config), new PrintStream(new ByteArrayOutputStream()));
            Gateway gw = null;
            try {
                String secret = new String(Base64.getDecoder().decode(cp.admin().secrets().inNamespace(ns)
                        .withName("airlock-payments-audit-token").get().getData().get("token")), StandardCharsets.US_ASCII);
                // What the gateway pods mount: the CA certificate the daemon made, and nothing else (its key stays in the daemon's Secret).
                String daemonCa = cp.admin().configMaps().inNamespace(ns).withName("airlock-payments-audit-ca").get().getData().get("ca.crt");
                assertThat(daemonCa).startsWith("-----BEGIN CERTIFICATE-----").doesNotContain("PRIVATE KEY");
                assertThat(cp.admin().secrets().inNamespace(ns).withName("airlock-audit-tls").get().getData())
                        .containsKeys("tls.crt", "tls.key", "ca.crt", "ca.key");

                // 0. A daemon whose certificate another CA signed is not trusted: nothing is sent, the gateway says why and keeps the records.
                gw = Gateway.start(dir, org, hosts, gwLog, token, caFile, "https://127.0.0.1:" + ingestPort + "/v1/audit/records");
                Gateway first = gw;
                assertThat(connect(gw.proxyPort, "allowed.test", hostPort)).startsWith("HTTP/1.1 200");
                assertThat(connect(gw.proxyPort, "blocked.test", 443)).startsWith("HTTP/1.1 403");
                await("the gateway's refusal of the daemon's certificate", () -> first.err().contains("did not sign"));
                assertThat(first.err()).contains("Fix: give --audit-ca-file the CA the daemon publishes").doesNotContain("HTTP 401");
                await("3 records in the gateway's own log", () -> records(gwLog).size() >= 3);
                assertThat(forwarded(daemonChain)).isEmpty();
                assertThat(served.get()).isEqualTo(1); // the allowed connection reached the test host

                // control: with the daemon's CA in the file (read at every send) the handshake succeeds, and the daemon
                // now judges the token. 1. A wrong token is refused: the daemon's chain gets nothing, the gateway keeps the records.
                Files.writeString(caFile, daemonCa);
                await("the daemon's refusal of the token", () -> first.err().contains("HTTP 401"));
                assertThat(forwarded(daemonChain)).isEmpty();

                // control: the same records arrive once the file holds the project's token (read at every send)
                Files.writeString(token, secret + "\n");
                await("the first records in the daemon's chain", () -> sameRecords(gwLog, daemonChain));

                // 2. The daemon goes away; the gateway keeps deciding, is killed (SIGKILL) and restarted meanwhile.
                daemon.close();
                daemon = null;
                for (int i = 0; i < 4; i++) {
                    assertThat(connect(gw.proxyPort, "denied" + i + ".test", 443)).startsWith("HTTP/1.1 403");
                }
                await("the denials in the gateway's log", () -> records(gwLog).stream().anyMatch(r -> r.name().equals("denied3.test")));
                gw.kill();
                gw = Gateway.start(dir, org, hosts, gwLog, token, caFile, "https://127.0.0.1:" + ingestPort + "/v1/audit/records");
                assertThat(connect(gw.proxyPort, "allowed.test", hostPort)).startsWith("HTTP/1.1 200");
                assertThat(connect(gw.proxyPort, "after-restart.test", 443)).startsWith("HTTP/1.1 403");
                await("the records after the restart in the gateway's log", () -> records(gwLog).stream()
                        .anyMatch(r -> r.name().equals("after-restart.test")));
                assertThat(forwarded(daemonChain)).noneMatch(r -> r.name().startsWith("denied"));

                // 3. The daemon comes back (same state, same Secrets): it serves a certificate from the same CA, so the gateway's
                // CA file still trusts it, and every record arrives, once, in order.
                daemon = DaemonServer.start(DaemonConfig.load(config), new PrintStream(new ByteArrayOutputStream()));
                assertThat(cp.admin().configMaps().inNamespace(ns).withName("airlock-payments-audit-ca").get().getData().get("ca.crt"))
                        .isEqualTo(daemonCa);
                await("every record of the gateway's log in the daemon's chain", () -> sameRecords(gwLog, daemonChain));
            } finally {
                if (gw != null) {
                    gw.kill();
                }
                if (daemon != null) {
                    daemon.close();
                }
                host.interrupt();
            }

            List<AuditRecord> local = records(gwLog);
            List<AuditRecord> shipped = forwarded(daemonChain);
            assertThat(local).extracting(AuditRecord::name).contains("allowed.test", "blocked.test", "denied0.test", "denied3.test", "after-restart.test");
            assertThat(shipped).extracting(r -> r.origin().orElseThrow().head()).containsExactlyElementsOf(local.stream().map(AuditRecord::head).toList());
            assertThat(shipped).extracting(AuditRecord::name).containsExactlyElementsOf(local.stream().map(AuditRecord::name).toList());
            assertThat(shipped).allSatisfy(r -> assertThat(r.origin().orElseThrow().source()).isEqualTo(SOURCE));
            AuditLogReader.Verification v = AuditLogReader.verify(daemonChain);
            assertThat(v.intact()).as(v.toString()).isTrue();

            Cli verify = Cli.run("log", "verify", "--file", daemonChain.toString());
            assertThat(verify.code()).as(verify.err()).isZero();
            Cli log = Cli.run("log", "--denied", "--file", daemonChain.toString());
            assertThat(log.out()).contains("blocked.test:443").contains("(from " + SOURCE + " #");
        }
    }

    /** {@code airlock gateway} as its own process, forwarding as the gateway pod's Deployment makes it. */
    private record Gateway(Process process, Path errFile, int proxyPort) {

        static Gateway start(Path dir, Path org, Path hosts, Path log, Path token, Path caFile, String ingestUrl) throws Exception {
            List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                    System.getProperty("java.class.path"), Main.class.getName(), "gateway", "--policy", dir.resolve("airlock.yaml").toString(),
                    "--org", org.toString(), "--hosts", hosts.toString(), "--listen", "127.0.0.1:" + freePort(), "--audit-log", log.toString(),
                    "--audit-forward", ingestUrl, "--audit-token-file", token.toString(), "--audit-ca-file", caFile.toString(),
                    "--audit-source", SOURCE));
            Path err = Files.createTempFile(dir, "alk-gw", ".err");
            Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
            Pattern listening = Pattern.compile("explicit proxy  http://127\\.0\\.0\\.1:(\\d+)");
            for (int i = 0; i < 600; i++) {
                Matcher m = listening.matcher(Files.readString(err));
                if (m.find()) {
                    return new Gateway(p, err, Integer.parseInt(m.group(1)));
                }
                if (!p.isAlive()) {
                    throw new AssertionError("the gateway exited " + p.exitValue() + ": " + Files.readString(err));
                }
                Thread.sleep(100);
            }
            p.destroyForcibly();
            throw new AssertionError("the gateway did not start within 60 s: " + Files.readString(err));
        }

        String err() {
            try {
                return Files.readString(errFile);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        /** SIGKILL: no shutdown hook, nothing flushed on the way out. */
        void kill() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** CONNECT through the gateway; sends a few bytes through an established tunnel; returns the status line. */
    private static String connect(int proxyPort, String name, int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", proxyPort), 10_000);
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("CONNECT " + name + ":" + port + " HTTP/1.1\r\nHost: " + name + ":" + port + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder line = new StringBuilder();
            for (int c; (c = in.read()) >= 0 && c != '\n'; ) {
                line.append((char) c);
            }
            if (line.toString().startsWith("HTTP/1.1 200")) {
                out.write("ping\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                in.readNBytes(5); // the test host's echo
            }
            return line.toString();
        }
    }

    /** The loopback test host: echoes what it gets, counting connections. */
    private static void serve(ServerSocket server, AtomicInteger served) {
        while (!server.isClosed()) {
            try (Socket s = server.accept()) {
                served.incrementAndGet();
                s.setSoTimeout(10_000);
                byte[] got = s.getInputStream().readNBytes(5);
                s.getOutputStream().write(got);
            } catch (IOException e) {
                return;
            }
        }
    }

    /** A CA certificate made in memory that signed nothing the daemon serves. */
    private static String otherCa() throws Exception {
        java.security.cert.X509Certificate ca = new io.netty.pkitesting.CertificateBuilder().subject("CN=Not the daemon's CA")
                .setIsCertificateAuthority(true).ecp256().buildSelfSigned().getCertificate();
        return "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(ca.getEncoded())
                + "\n-----END CERTIFICATE-----\n";
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static List<AuditRecord> records(Path file) {
        List<AuditRecord> out = new ArrayList<>();
        if (!Files.exists(file)) {
            return out;
        }
        try (var lines = AuditLogReader.lines(file)) {
            lines.forEach(l -> {
                if (l instanceof AuditLogReader.Entry e) {
                    out.add(e.record());
                }
            });
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out;
    }

    private static List<AuditRecord> forwarded(Path daemonChain) {
        return records(daemonChain).stream().filter(r -> r.origin().isPresent()).toList();
    }

    /** The daemon's chain holds exactly the gateway log's records, by their heads in the gateway's chain. */
    private static boolean sameRecords(Path gwLog, Path daemonChain) {
        List<ChainHead> local = records(gwLog).stream().map(AuditRecord::head).toList();
        List<ChainHead> shipped = forwarded(daemonChain).stream().map(r -> r.origin().orElseThrow().head()).toList();
        return !local.isEmpty() && local.equals(shipped);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 900; i++) {
            if (condition.getAsBoolean()) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not within 90 s: " + what);
    }
}
