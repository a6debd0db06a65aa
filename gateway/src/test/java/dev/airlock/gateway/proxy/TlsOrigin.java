package dev.airlock.gateway.proxy;

import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * A TLS echo origin with a certificate built in memory (netty-pkitesting), recording the server
 * names its clients sent, so tests see the SNI that really crossed the gateway.
 */
final class TlsOrigin implements AutoCloseable {

    final X509Bundle certificate;
    final SSLServerSocket server;
    final List<String> serverNamesSeen = new CopyOnWriteArrayList<>();

    TlsOrigin(String address, String dnsName) throws Exception {
        certificate = new CertificateBuilder().subject("CN=" + dnsName).addSanDnsName(dnsName).setIsCertificateAuthority(true)
                .ecp256().buildSelfSigned();
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(certificate.toKeyManagerFactory().getKeyManagers(), null, null);
        server = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getByName(address));
        Thread t = new Thread(this::serve, "tls-origin");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    /** A client context that trusts only this origin's certificate. */
    SSLContext clientContext() throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, certificate.toTrustManagerFactory().getTrustManagers(), null);
        return ctx;
    }

    private void serve() {
        while (!server.isClosed()) {
            try {
                SSLSocket s = (SSLSocket) server.accept();
                Thread t = new Thread(() -> {
                    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                        s.startHandshake();
                        if (s.getSession() instanceof ExtendedSSLSession ext) {
                            for (SNIServerName n : ext.getRequestedServerNames()) {
                                serverNamesSeen.add(new String(n.getEncoded(), java.nio.charset.StandardCharsets.US_ASCII));
                            }
                        }
                        byte[] buf = new byte[4096];
                        for (int n; (n = in.read(buf)) > 0; ) {
                            out.write(buf, 0, n);
                            out.flush();
                        }
                    } catch (IOException ignored) {
                        // the client went away or the handshake was refused
                    }
                });
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    /** TLS over an existing socket (a CONNECT tunnel or a transparent connection) with this SNI. */
    SSLSocket handshake(Socket under, String sni) throws Exception {
        SSLSocket s = (SSLSocket) clientContext().getSocketFactory().createSocket(under, sni == null ? "no-sni.invalid" : sni, port(), true);
        javax.net.ssl.SSLParameters p = s.getSSLParameters();
        p.setServerNames(sni == null ? List.of() : List.of(new javax.net.ssl.SNIHostName(sni)));
        p.setEndpointIdentificationAlgorithm(null);
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
