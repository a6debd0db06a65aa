package dev.airlock.gateway.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.airlock.policy.Printable;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.Arrays;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The daemon's ingest endpoint over HTTPS: {@code POST URL} with {@code Authorization: Bearer
 * TOKEN} and {@code {"source": S, "records": [LINE, …]}}; the answer is {@code {"acknowledged":
 * "SEQ:HASH"}} (docs/audit-log.md, "Forwarding"). The token is read from its file at every send,
 * so a rotated Secret takes effect without a restart.
 *
 * <p>Design. The daemon is trusted only through the CA certificate(s) in {@code caFile} (its
 * ConfigMap in the pod), never the JDK's public roots: a certificate any public CA would sign for
 * the name is not the daemon. The host name is verified against the certificate (HTTPS endpoint
 * identification), and only TLS 1.3 and 1.2 are offered. The CA file is read again at every send
 * and the client rebuilt when it changed, so a new CA reaches a running gateway. A certificate
 * that fails any check is refused before the token is sent ({@link IngestClient.Untrusted}): the
 * records stay in the local log. There is no plain-HTTP mode: the token and the records would
 * cross the cluster network readable and forgeable by anything on the path.
 */
public final class HttpIngestClient implements IngestClient {

    /** Long enough for a batch on a busy daemon, short enough that a dead one is retried soon. */
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Older protocols have known weaknesses; the daemon (this Airlock) speaks both of these. */
    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI url;
    private final Path tokenFile;
    private final Path caFile;
    private byte[] caBytes;
    private HttpClient http;

    /**
     * @throws IllegalArgumentException when {@code url} is not https, or {@code caFile} holds no
     *     certificate: said with the option to fix
     */
    public HttpIngestClient(URI url, Path tokenFile, Path caFile) {
        if (!"https".equals(url.getScheme())) {
            throw new IllegalArgumentException("--audit-forward " + url + ": write an https:// URL of the daemon's ingest endpoint"
                    + " (the token and the records are never sent in clear)");
        }
        this.url = url;
        this.tokenFile = tokenFile;
        this.caFile = caFile;
        try {
            client();
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** The client for the CA file's current content (rebuilt when it changed). */
    private synchronized HttpClient client() throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(caFile);
        } catch (IOException e) {
            throw new Untrusted("cannot read the CA file " + caFile + " (" + e.getMessage() + "); nothing was sent. Fix: mount the CA the"
                    + " daemon publishes there (ConfigMap airlock-PROJECT-audit-ca, key ca.crt; --audit-ca-file)", e);
        }
        if (http != null && Arrays.equals(bytes, caBytes)) {
            return http;
        }
        SSLContext tls = trusting(bytes);
        SSLParameters params = new SSLParameters();
        params.setProtocols(PROTOCOLS);
        params.setEndpointIdentificationAlgorithm("HTTPS");
        http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_1_1).sslContext(tls).sslParameters(params).build();
        caBytes = bytes;
        return http;
    }

    /** A TLS context whose only trust anchors are the certificates in {@code pem}. */
    private SSLContext trusting(byte[] pem) throws IOException {
        try {
            KeyStore anchors = KeyStore.getInstance("PKCS12");
            anchors.load(null, null);
            int n = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem))) {
                anchors.setCertificateEntry("ca-" + n++, c);
            }
            if (n == 0) {
                throw new CertificateException("no certificate in it");
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(anchors);
            SSLContext c = SSLContext.getInstance("TLS");
            c.init(null, tmf.getTrustManagers(), null);
            return c;
        } catch (GeneralSecurityException e) {
            throw new Untrusted("the CA file " + caFile + " is not PEM certificates (" + e.getMessage() + "); nothing was sent. Fix: give"
                    + " --audit-ca-file the daemon's CA certificate (ConfigMap airlock-PROJECT-audit-ca, key ca.crt)", e);
        }
    }

    @Override
    public ChainHead send(String source, List<String> lines) throws IOException, Refused {
        String token;
        try {
            token = Files.readString(tokenFile, StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            // not the daemon's fault: said as a refusal, with the file to fix
            throw new Refused(0, "cannot read the token file " + tokenFile + " (" + e.getMessage() + "); fix: mount the project's audit token Secret there");
        }
        ObjectNode body = JSON.createObjectNode();
        body.put("source", source);
        lines.forEach(body.putArray("records")::add);
        HttpRequest request = HttpRequest.newBuilder(url).timeout(TIMEOUT)
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build();
        HttpResponse<String> response;
        try {
            response = client().send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (Untrusted e) {
            throw e;
        } catch (IOException e) {
            // the client may wrap the handshake's failure; any TLS failure means the daemon was not trusted
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof SSLException) {
                    throw untrusted(e);
                }
            }
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        String text = response.body();
        if (response.statusCode() != 200) {
            String why = text.length() > 500 ? text.substring(0, 500) : text;
            throw new Refused(response.statusCode(), "HTTP " + response.statusCode() + ": " + Printable.escape(why.strip()));
        }
        try {
            JsonNode ack = JSON.readTree(text).get("acknowledged");
            return ChainHead.parse(ack.asText());
        } catch (IOException | RuntimeException e) {
            throw new Refused(response.statusCode(), "the daemon's answer is not {\"acknowledged\": \"SEQ:HASH\"}: " + Printable.escape(text));
        }
    }

    /** Why the handshake failed, in the operator's words, with the fix. */
    private Untrusted untrusted(IOException e) {
        String chain = causes(e);
        String host = url.getHost();
        if (chain.contains("PKIX path") || chain.contains("CertPathBuilderException") || chain.contains("CertPathValidatorException")
                || chain.contains("unable to find valid certification path")) {
            return new Untrusted("the daemon at " + url + " presents a certificate that the CA in " + caFile + " did not sign, so it is not"
                    + " trusted and nothing was sent. Fix: give --audit-ca-file the CA the daemon publishes (ConfigMap airlock-PROJECT-audit-ca,"
                    + " key ca.crt; with kubernetes.auditTls.secret, that Secret's ca.crt)", e);
        }
        if (chain.contains("No subject alternative") || chain.contains("No name matching")) {
            return new Untrusted("the daemon's certificate does not name " + host + ", the host of " + url + ", so it is not trusted and"
                    + " nothing was sent. Fix: the host of kubernetes.auditUrl must be one of the certificate's names (the daemon makes its own"
                    + " for that host at start; a certificate from kubernetes.auditTls.secret must list it in its dnsNames)", e);
        }
        return new Untrusted("the TLS handshake with " + url + " failed (" + Printable.escape(chain) + "); nothing was sent. Fix: check that"
                + " the URL's port is the daemon's kubernetes.auditListen, which speaks TLS 1.3 or 1.2", e);
    }

    private static String causes(Throwable e) {
        StringBuilder out = new StringBuilder();
        for (Throwable t = e; t != null && out.length() < 2000; t = t.getCause()) {
            if (!out.isEmpty()) {
                out.append(": ");
            }
            out.append(t.getClass().getSimpleName()).append(' ').append(t.getMessage());
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return url.toString();
    }
}
