package dev.airlock.gateway.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's side of the ingest's TLS, against an in-process HTTPS daemon on loopback whose
 * certificates are made in memory. Judged from the daemon's side: a refused handshake means the
 * daemon received no request (and so no token).
 */
class HttpIngestClientTest {

    private static final String ACK = "3:" + "ab".repeat(32);
    private static X509Bundle daemonCa;
    private static X509Bundle otherCa;

    @TempDir
    Path dir;
    private HttpsServer server;
    private final List<String> tokensSeen = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void authorities() throws Exception {
        daemonCa = new CertificateBuilder().subject("CN=daemon CA").setIsCertificateAuthority(true).ecp256().buildSelfSigned();
        otherCa = new CertificateBuilder().subject("CN=another CA").setIsCertificateAuthority(true).ecp256().buildSelfSigned();
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    /** The fake daemon on 127.0.0.1, serving a certificate {@code ca} signed for {@code san}; records the tokens it is sent. */
    private URI daemon(X509Bundle ca, String san) throws Exception {
        CertificateBuilder leaf = new CertificateBuilder().subject("CN=" + san).ecp256().setKeyUsage(true, CertificateBuilder.KeyUsage.digitalSignature)
                .addExtendedKeyUsage(CertificateBuilder.ExtendedKeyUsage.PKIX_KP_SERVER_AUTH);
        leaf = san.matches("[0-9.]+") ? leaf.addSanIpAddress(san) : leaf.addSanDnsName(san);
        X509Bundle cert = leaf.buildIssuedBy(ca);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(cert.toKeyStore(new char[0]), new char[0]);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), null, null);
        server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.createContext("/v1/audit/records", ex -> {
            try (ex) {
                tokensSeen.add(ex.getRequestHeaders().getFirst("Authorization"));
                ex.getRequestBody().readAllBytes();
                byte[] body = ("{\"acknowledged\":\"" + ACK + "\"}").getBytes(StandardCharsets.US_ASCII);
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
            }
        });
        server.start();
        return URI.create("https://127.0.0.1:" + server.getAddress().getPort() + "/v1/audit/records");
    }

    private Path token() throws IOException {
        return Files.writeString(dir.resolve("token"), "cd".repeat(32) + "\n");
    }

    private Path caFile(X509Bundle ca) throws Exception {
        return Files.writeString(dir.resolve("ca.crt"), pem(ca));
    }

    private static String pem(X509Bundle ca) throws Exception {
        return "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(ca.getCertificate().getEncoded())
                + "\n-----END CERTIFICATE-----\n";
    }

    @Test
    void send_daemonCertifiedByTheGivenCa_isAcknowledged() throws Exception {
        HttpIngestClient client = new HttpIngestClient(daemon(daemonCa, "127.0.0.1"), token(), caFile(daemonCa));
        assertThat(client.send("airlock-p-gateway-1", List.of("{}"))).isEqualTo(ChainHead.parse(ACK));
        assertThat(tokensSeen).containsExactly("Bearer " + "cd".repeat(32));
    }

    @Test
    void send_certificateFromAnotherCa_isUntrusted_andTheDaemonReceivesNothing() throws Exception {
        URI url = daemon(daemonCa, "127.0.0.1");
        HttpIngestClient client = new HttpIngestClient(url, token(), caFile(otherCa));
        assertThatThrownBy(() -> client.send("airlock-p-gateway-1", List.of("{}"))).isInstanceOf(IngestClient.Untrusted.class)
                .hasMessageContaining("presents a certificate that the CA in " + dir.resolve("ca.crt") + " did not sign")
                .hasMessageContaining("Fix: give --audit-ca-file the CA the daemon publishes");
        assertThat(tokensSeen).isEmpty();

        // control: the CA file is read again at the next send; with the daemon's CA the same client is acknowledged
        Files.writeString(dir.resolve("ca.crt"), pem(daemonCa));
        assertThat(client.send("airlock-p-gateway-1", List.of("{}"))).isEqualTo(ChainHead.parse(ACK));
        assertThat(tokensSeen).hasSize(1);
    }

    @Test
    void send_certificateForAnotherName_isUntrusted_andTheDaemonReceivesNothing() throws Exception {
        URI url = daemon(daemonCa, "airlock-daemon.airlock.svc");
        HttpIngestClient client = new HttpIngestClient(url, token(), caFile(daemonCa));
        assertThatThrownBy(() -> client.send("airlock-p-gateway-1", List.of("{}"))).isInstanceOf(IngestClient.Untrusted.class)
                .hasMessageContaining("the daemon's certificate does not name 127.0.0.1")
                .hasMessageContaining("Fix: the host of kubernetes.auditUrl must be one of the certificate's names");
        assertThat(tokensSeen).isEmpty();
    }

    @Test
    void new_httpUrlOrCaFileWithoutCertificates_isRefusedSayingWhy() throws Exception {
        assertThatThrownBy(() -> new HttpIngestClient(URI.create("http://127.0.0.1:7071/v1/audit/records"), token(), caFile(daemonCa)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("write an https:// URL");
        Path notPem = Files.writeString(dir.resolve("not.pem"), "hello\n");
        assertThatThrownBy(() -> new HttpIngestClient(URI.create("https://127.0.0.1:7071/v1/audit/records"), token(), notPem))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("the CA file " + notPem + " is not PEM certificates")
                .hasMessageContaining("Fix:");
    }
}
