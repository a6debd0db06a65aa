package dev.airlock.sandbox;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Hand-made OCI layouts of one uncompressed layer, for the image tests: what a malicious (or a
 * normal) layer holds, entry by entry, without any tool that would refuse or repair it.
 */
final class TestLayouts {

    /** One tar entry: {@code type} is a {@link TarConstants} link flag; {@code target} a link's target. */
    record Entry(String name, byte type, String target, String content, int mode, int uid) {
        static Entry file(String name, String content) {
            return new Entry(name, TarConstants.LF_NORMAL, "", content, 0644, 0);
        }

        static Entry dir(String name) {
            return new Entry(name, TarConstants.LF_DIR, "", "", 0755, 0);
        }

        static Entry symlink(String name, String target) {
            return new Entry(name, TarConstants.LF_SYMLINK, target, "", 0777, 0);
        }

        static Entry hardlink(String name, String target) {
            return new Entry(name, TarConstants.LF_LINK, target, "", 0644, 0);
        }

        static Entry charDevice(String name) {
            return new Entry(name, TarConstants.LF_CHR, "", "", 0666, 0);
        }

        Entry withMode(int m, int owner) {
            return new Entry(name, type, target, content, m, owner);
        }
    }

    private TestLayouts() {
    }

    /** The layer's tar. */
    static byte[] tar(List<Entry> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(bytes)) {
            t.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Entry e : entries) {
                TarArchiveEntry a = new TarArchiveEntry(e.name(), e.type(), true);
                a.setMode(e.mode() | (e.type() == TarConstants.LF_DIR ? 040000 : e.type() == TarConstants.LF_SYMLINK ? 0120000
                        : e.type() == TarConstants.LF_CHR ? 020000 : 0100000));
                a.setIds(e.uid(), e.uid());
                if (!e.target().isEmpty()) {
                    a.setLinkName(e.target());
                }
                if (e.type() == TarConstants.LF_CHR) {
                    a.setDevMajor(1);
                    a.setDevMinor(3);
                }
                byte[] content = e.content().getBytes(StandardCharsets.UTF_8);
                if (e.type() == TarConstants.LF_NORMAL) {
                    a.setSize(content.length);
                }
                t.putArchiveEntry(a);
                if (e.type() == TarConstants.LF_NORMAL) {
                    t.write(content);
                }
                t.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    /** Writes an OCI layout at {@code dir} whose image {@code tag} has one layer of {@code entries}; returns the manifest digest. */
    static String layout(Path dir, String tag, List<Entry> entries) throws IOException {
        Path blobs = Files.createDirectories(dir.resolve("blobs").resolve("sha256"));
        byte[] layer = tar(entries);
        String layerDigest = blob(blobs, layer);
        String config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\""
                + layerDigest + "\"]}}";
        byte[] configBytes = config.getBytes(StandardCharsets.UTF_8);
        String configDigest = blob(blobs, configBytes);
        String manifest = "{\"schemaVersion\":2,\"mediaType\":\"" + OciLayout.MANIFEST_TYPE + "\",\"config\":{\"mediaType\":"
                + "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + configDigest + "\",\"size\":" + configBytes.length + "},"
                + "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" + layerDigest + "\",\"size\":"
                + layer.length + "}]}";
        byte[] manifestBytes = manifest.getBytes(StandardCharsets.UTF_8);
        String manifestDigest = blob(blobs, manifestBytes);
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        Files.writeString(dir.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" + OciLayout.MANIFEST_TYPE
                + "\",\"digest\":\"" + manifestDigest + "\",\"size\":" + manifestBytes.length + ",\"annotations\":{\""
                + OciLayout.REF_NAME + "\":\"" + tag + "\"}}]}");
        return manifestDigest;
    }

    static String blob(Path blobs, byte[] content) throws IOException {
        String hex = HexFormat.of().formatHex(OciLayout.sha256().digest(content));
        Files.write(blobs.resolve(hex), content);
        return "sha256:" + hex;
    }
}
