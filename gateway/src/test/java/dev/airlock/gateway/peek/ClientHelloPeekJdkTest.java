package dev.airlock.gateway.peek;

import static dev.airlock.gateway.peek.ClientHelloBuilder.clientHello;
import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.peek.ClientHelloPeek.Hello;
import dev.airlock.gateway.peek.ClientHelloPeek.NeedMore;
import dev.airlock.gateway.peek.ClientHelloPeek.NoSni;
import dev.airlock.gateway.peek.ClientHelloPeek.Result;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIMatcher;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.StandardConstants;
import org.junit.jupiter.api.Test;

/**
 * Cross-checks against an independent TLS implementation, the JDK's: the parser reads the names
 * from the JDK client's real ClientHello, and the JDK server reads the same names from
 * {@link ClientHelloBuilder}'s hellos that the parser reads.
 */
class ClientHelloPeekJdkTest {

    /** The first flight of a JDK client: one or more TLS records holding its ClientHello. */
    private static byte[] jdkClientHello(String peerHost, Consumer<SSLParameters> configure) throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, null, null);
        SSLEngine engine = peerHost == null ? context.createSSLEngine() : context.createSSLEngine(peerHost, 443);
        engine.setUseClientMode(true);
        SSLParameters parameters = engine.getSSLParameters();
        configure.accept(parameters);
        engine.setSSLParameters(parameters);
        engine.beginHandshake();
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] bytes = new byte[out.remaining()];
        out.get(bytes);
        return bytes;
    }

    private static Result parse(byte[] bytes) {
        return ClientHelloPeek.parse(ByteBuffer.wrap(bytes));
    }

    @Test
    void parse_jdkClientHelloWithSni_extractsTheName() throws Exception {
        byte[] hello = jdkClientHello("example.test", p -> {
            p.setServerNames(List.of(new SNIHostName("example.test")));
            p.setApplicationProtocols(new String[] {"h2", "http/1.1"});
        });
        assertThat(parse(hello)).isInstanceOfSatisfying(Hello.class, h -> {
            assertThat(h.serverNames()).containsExactly("example.test");
            assertThat(h.rejectedNames()).isEmpty();
            assertThat(h.soleName()).contains("example.test");
            assertThat(h.alpn()).containsExactly("h2", "http/1.1");
            assertThat(h.version()).hasToString("TLSv1.3");
        });
    }

    @Test
    void parse_jdkClientHelloWithoutSni_isNoSni() throws Exception {
        byte[] hello = jdkClientHello(null, p -> p.setServerNames(List.of()));
        assertThat(parse(hello)).isInstanceOf(NoSni.class);
    }

    @Test
    void parse_jdkTls12OnlyClientHello_extractsTheName() throws Exception {
        byte[] hello = jdkClientHello("example.test", p -> {
            p.setProtocols(new String[] {"TLSv1.2"});
            p.setServerNames(List.of(new SNIHostName("example.test")));
        });
        assertThat(parse(hello)).isInstanceOfSatisfying(Hello.class, h -> {
            assertThat(h.serverNames()).containsExactly("example.test");
            assertThat(h.version()).hasToString("TLSv1.2");
        });
    }

    @Test
    void parse_jdkClientHelloReframedIntoSixRecordsAndFedByteByByte_givesTheSameAnswerOnlyAtTheEnd() throws Exception {
        byte[] hello = jdkClientHello("example.test", p -> p.setServerNames(List.of(new SNIHostName("example.test"))));
        byte[] handshake = Arrays.copyOfRange(hello, 5, hello.length);
        assertThat(hello.length - 5).as("the JDK sends its hello in one record").isEqualTo(((hello[3] & 0xFF) << 8) | (hello[4] & 0xFF));
        byte[] reframed = ClientHelloBuilder.inRecords(handshake, ClientHelloBuilder.evenSplit(handshake.length, 6), 0x0303);
        for (int n = 0; n < reframed.length; n++) {
            assertThat(parse(Arrays.copyOf(reframed, n))).isInstanceOf(NeedMore.class);
        }
        assertThat(parse(reframed)).isEqualTo(parse(hello));
    }

    // ---- the builder, read by the JDK server --------------------------------------------------------

    /** What a JDK server made of a hello: the names its SNI matcher saw, and how the handshake failed. */
    private record JdkRead(List<String> names, String failure) {
    }

    private static JdkRead jdkServerReads(byte[] hello) throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, null, null);
        SSLEngine server = context.createSSLEngine();
        server.setUseClientMode(false);
        List<String> seen = new ArrayList<>();
        SSLParameters parameters = server.getSSLParameters();
        parameters.setSNIMatchers(List.of(new SNIMatcher(StandardConstants.SNI_HOST_NAME) {
            @Override
            public boolean matches(SNIServerName name) {
                seen.add(((SNIHostName) name).getAsciiName());
                return true;
            }
        }));
        server.setSSLParameters(parameters);
        server.beginHandshake();
        ByteBuffer out = ByteBuffer.allocate(server.getSession().getApplicationBufferSize());
        ByteBuffer in = ByteBuffer.wrap(hello);
        String failure = null;
        try {
            // The engine takes one record per unwrap, then runs the ClientHello as a delegated task.
            while (in.hasRemaining() && server.getHandshakeStatus() == HandshakeStatus.NEED_UNWRAP) {
                server.unwrap(in, out);
                while (server.getHandshakeStatus() == HandshakeStatus.NEED_TASK) {
                    server.getDelegatedTask().run();
                }
            }
            server.wrap(ByteBuffer.allocate(0), ByteBuffer.allocate(server.getSession().getPacketBufferSize()));
        } catch (SSLException e) {
            // The builder's key share is not a real key, so the handshake fails after the hello is read.
            failure = e.getMessage();
        }
        return new JdkRead(seen, failure);
    }

    @Test
    void builder_helloWithSni_isReadTheSameByTheJdkServerAndByTheParser() throws Exception {
        byte[] hello = clientHello().typicalExtensions().supportedVersions(0x0304, 0x0303)
                .serverName("example.test").alpn("h2").records(3).build();
        assertThat(jdkServerReads(hello).names()).containsExactly("example.test");
        assertThat(((Hello) parse(hello)).serverNames()).containsExactly("example.test");
    }

    @Test
    void builder_helloWithoutSni_getsAsFarInTheJdkServerAndHasNoName() throws Exception {
        ClientHelloBuilder common = clientHello().typicalExtensions().supportedVersions(0x0304, 0x0303);
        JdkRead withoutSni = jdkServerReads(common.build());
        assertThat(withoutSni.names()).isEmpty();
        // It fails at the same later step as a hello with SNI, so the JDK accepted its structure.
        assertThat(withoutSni.failure()).isEqualTo(jdkServerReads(common.serverName("example.test").build()).failure());
        assertThat(parse(clientHello().typicalExtensions().supportedVersions(0x0304, 0x0303).build())).isInstanceOf(NoSni.class);
    }

    @Test
    void builder_serverNameExtensionTwice_jdkServerReadsTheLastSoTheParserRefuses() throws Exception {
        // Why a repeated extension is Malformed: Airlock and the server would read different names.
        byte[] hello = clientHello().typicalExtensions().supportedVersions(0x0304, 0x0303).serverName("allowed.example")
                .extensionAfter(ClientHelloBuilder.EXT_SERVER_NAME, ClientHelloPeekTest.sniData("evil.example")).build();
        assertThat(jdkServerReads(hello).names()).containsExactly("evil.example");
        assertThat(parse(hello)).isInstanceOf(ClientHelloPeek.Malformed.class);
    }
}
