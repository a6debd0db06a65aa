package dev.airlock.gateway.peek;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Builds real ClientHello bytes, field by field, for tests: with or without SNI, several names,
 * extensions before and after {@code server_name}, and the handshake split over any number of
 * records. It writes what it is told, so that tests can also build broken hellos. Cross-checked
 * against the JDK's own ClientHello in {@link ClientHelloPeekJdkTest}.
 */
final class ClientHelloBuilder {

    static final int EXT_SERVER_NAME = 0x0000;
    static final int EXT_SUPPORTED_GROUPS = 0x000a;
    static final int EXT_SIGNATURE_ALGORITHMS = 0x000d;
    static final int EXT_ALPN = 0x0010;
    static final int EXT_PADDING = 0x0015;
    static final int EXT_SUPPORTED_VERSIONS = 0x002b;
    static final int EXT_KEY_SHARE = 0x0033;

    private int recordVersion = 0x0301;
    private int legacyVersion = 0x0303;
    private byte[] sessionId = filled(32, 0x5A);
    private byte[] cipherSuites = {0x13, 0x01, 0x13, 0x02, (byte) 0xC0, 0x2F};
    private byte[] compression = {0x00};
    private final List<byte[]> names = new ArrayList<>();
    private final List<byte[]> before = new ArrayList<>();
    private final List<byte[]> after = new ArrayList<>();
    private boolean withExtensions = true;
    private int records = 1;

    static ClientHelloBuilder clientHello() {
        return new ClientHelloBuilder();
    }

    /** Adds a {@code host_name} entry; the first call adds the {@code server_name} extension. */
    ClientHelloBuilder serverName(String name) {
        return serverNameBytes(name.getBytes(StandardCharsets.ISO_8859_1));
    }

    ClientHelloBuilder serverNameBytes(byte[] name) {
        names.add(name.clone());
        return this;
    }

    ClientHelloBuilder serverNames(List<String> all) {
        all.forEach(this::serverName);
        return this;
    }

    /** An extension, written before {@code server_name}. */
    ClientHelloBuilder extensionBefore(int type, byte[] data) {
        before.add(extension(type, data));
        return this;
    }

    /** An extension, written after {@code server_name}. */
    ClientHelloBuilder extensionAfter(int type, byte[] data) {
        after.add(extension(type, data));
        return this;
    }

    ClientHelloBuilder alpn(String... protocols) {
        ByteArrayOutputStream list = new ByteArrayOutputStream();
        for (String p : protocols) {
            byte[] b = p.getBytes(StandardCharsets.ISO_8859_1);
            list.write(b.length);
            list.writeBytes(b);
        }
        return extensionAfter(EXT_ALPN, vector16(list.toByteArray()));
    }

    ClientHelloBuilder supportedVersions(int... versions) {
        ByteArrayOutputStream list = new ByteArrayOutputStream();
        for (int v : versions) {
            list.write(v >> 8);
            list.write(v);
        }
        return extensionBefore(EXT_SUPPORTED_VERSIONS, vector8(list.toByteArray()));
    }

    /** A padding extension (RFC 7685) of {@code n} zero bytes, to make the hello larger. */
    ClientHelloBuilder padding(int n) {
        return extensionAfter(EXT_PADDING, new byte[n]);
    }

    /** A few ordinary extensions before {@code server_name}, as browsers send. */
    ClientHelloBuilder typicalExtensions() {
        extensionBefore(EXT_SUPPORTED_GROUPS, vector16(new byte[] {0x00, 0x1d, 0x00, 0x17}));
        extensionBefore(EXT_SIGNATURE_ALGORITHMS, vector16(new byte[] {0x04, 0x03, 0x08, 0x04}));
        byte[] share = new byte[4 + 32];
        share[1] = 0x1d;
        share[3] = 32;
        return extensionAfter(EXT_KEY_SHARE, vector16(share));
    }

    /** Omits the extensions block altogether, as a TLS 1.2 client without extensions does. */
    ClientHelloBuilder noExtensions() {
        withExtensions = false;
        return this;
    }

    ClientHelloBuilder legacyVersion(int v) {
        legacyVersion = v;
        return this;
    }

    ClientHelloBuilder recordVersion(int v) {
        recordVersion = v;
        return this;
    }

    ClientHelloBuilder sessionId(byte[] id) {
        sessionId = id.clone();
        return this;
    }

    ClientHelloBuilder cipherSuites(byte[] suites) {
        cipherSuites = suites.clone();
        return this;
    }

    ClientHelloBuilder compression(byte[] methods) {
        compression = methods.clone();
        return this;
    }

    /** Splits the handshake message over {@code n} records, as evenly as possible. */
    ClientHelloBuilder records(int n) {
        records = n;
        return this;
    }

    /** The ClientHello body: everything after the 4-byte handshake header. */
    byte[] body() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(legacyVersion >> 8);
        out.write(legacyVersion);
        for (int i = 0; i < 32; i++) {
            out.write(i);
        }
        out.writeBytes(vector8(sessionId));
        out.writeBytes(vector16(cipherSuites));
        out.writeBytes(vector8(compression));
        if (withExtensions) {
            ByteArrayOutputStream ext = new ByteArrayOutputStream();
            before.forEach(ext::writeBytes);
            if (!names.isEmpty()) {
                ByteArrayOutputStream list = new ByteArrayOutputStream();
                for (byte[] n : names) {
                    list.write(0); // host_name
                    list.writeBytes(vector16(n));
                }
                ext.writeBytes(extension(EXT_SERVER_NAME, vector16(list.toByteArray())));
            }
            after.forEach(ext::writeBytes);
            out.writeBytes(vector16(ext.toByteArray()));
        }
        return out.toByteArray();
    }

    /** The handshake message: type 1, a 3-byte length, the body. */
    byte[] handshake() {
        return handshake(body());
    }

    static byte[] handshake(byte[] body) {
        byte[] hs = new byte[4 + body.length];
        hs[0] = 0x01;
        hs[1] = (byte) (body.length >> 16);
        hs[2] = (byte) (body.length >> 8);
        hs[3] = (byte) body.length;
        System.arraycopy(body, 0, hs, 4, body.length);
        return hs;
    }

    /** The records, as a client sends them. */
    byte[] build() {
        byte[] hs = handshake();
        return inRecords(hs, evenSplit(hs.length, records), recordVersion);
    }

    /** {@code total} bytes in {@code n} non-empty parts that differ by at most one. */
    static int[] evenSplit(int total, int n) {
        if (n < 1 || n > total) {
            throw new IllegalArgumentException("cannot split " + total + " bytes into " + n + " records");
        }
        int[] sizes = new int[n];
        for (int i = 0; i < n; i++) {
            sizes[i] = total / n + (i < total % n ? 1 : 0);
        }
        return sizes;
    }

    /** Wraps {@code handshake} in handshake records whose fragments have the given sizes. */
    static byte[] inRecords(byte[] handshake, int[] fragmentSizes, int recordVersion) {
        if (Arrays.stream(fragmentSizes).sum() != handshake.length) {
            throw new IllegalArgumentException("fragment sizes do not add up to " + handshake.length);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int at = 0;
        for (int size : fragmentSizes) {
            out.writeBytes(record(0x16, recordVersion, Arrays.copyOfRange(handshake, at, at + size)));
            at += size;
        }
        return out.toByteArray();
    }

    static byte[] record(int contentType, int version, byte[] fragment) {
        byte[] r = new byte[5 + fragment.length];
        r[0] = (byte) contentType;
        r[1] = (byte) (version >> 8);
        r[2] = (byte) version;
        r[3] = (byte) (fragment.length >> 8);
        r[4] = (byte) fragment.length;
        System.arraycopy(fragment, 0, r, 5, fragment.length);
        return r;
    }

    static byte[] extension(int type, byte[] data) {
        byte[] e = new byte[4 + data.length];
        e[0] = (byte) (type >> 8);
        e[1] = (byte) type;
        e[2] = (byte) (data.length >> 8);
        e[3] = (byte) data.length;
        System.arraycopy(data, 0, e, 4, data.length);
        return e;
    }

    static byte[] vector8(byte[] content) {
        byte[] v = new byte[1 + content.length];
        v[0] = (byte) content.length;
        System.arraycopy(content, 0, v, 1, content.length);
        return v;
    }

    static byte[] vector16(byte[] content) {
        byte[] v = new byte[2 + content.length];
        v[0] = (byte) (content.length >> 8);
        v[1] = (byte) content.length;
        System.arraycopy(content, 0, v, 2, content.length);
        return v;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }
}
