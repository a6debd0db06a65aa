package dev.airlock.sandbox;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Refuses an image whose layers would write outside its root, before anything is unpacked.
 *
 * <p>umoci unpacks as root and keeps every path inside the root by resolving it there; this check
 * is the second fence, and it refuses instead of repairing, so a layer that tries is never used:
 * an absolute name or a {@code ..} component (in a name or a hard link's target); a whiteout naming
 * nothing, {@code .} or {@code ..}; a name that passes through a symbolic link an earlier entry made
 * (writing through a link is how a layer escapes an unpacker that follows links); and device nodes
 * anywhere but {@code dev/} (whose contents the store drops: the sandbox gets its own /dev).
 */
final class LayerCheck {

    static final String WHITEOUT = ".wh.";
    static final String OPAQUE = ".wh..wh..opq";

    private LayerCheck() {
    }

    /** Checks the layers in order (lowest first); symbolic links of lower layers count for the upper ones. */
    static void check(List<OciLayout.Descriptor> layers, Path blobs) throws SandboxException {
        Set<String> links = new HashSet<>();
        for (OciLayout.Descriptor d : layers) {
            try (InputStream in = open(blobs.resolve(d.hex()), d);
                    TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
                TarArchiveEntry e;
                while ((e = tar.getNextEntry()) != null) {
                    Optional<String> why = refusal(e, links);
                    if (why.isPresent()) {
                        throw new SandboxException("image layer " + d.digest() + " is refused: entry '" + printable(e.getName()) + "' "
                                + why.get() + ". Nothing was unpacked. Fix: rebuild the image from a trusted base; a layer made by a normal"
                                + " build never does this.");
                    }
                }
            } catch (IOException e) {
                throw new SandboxException("cannot read image layer " + d.digest() + ": " + e.getMessage() + ". Fix: rebuild the image.", e);
            }
        }
    }

    private static InputStream open(Path blob, OciLayout.Descriptor d) throws IOException, SandboxException {
        String type = d.mediaType();
        InputStream raw = new BufferedInputStream(Files.newInputStream(blob, LinkOption.NOFOLLOW_LINKS), 1 << 16);
        if (type.endsWith(".tar") || type.endsWith(".tar.nondistributable")) {
            return raw;
        }
        if (type.endsWith("tar+gzip") || type.endsWith("tar.gzip") || type.endsWith("diff.tar.gzip")) {
            return GzipCompressorInputStream.builder().setInputStream(raw).setDecompressConcatenated(true).get();
        }
        raw.close();
        throw new SandboxException("image layer " + d.digest() + " has media type '" + type + "', which Airlock does not read (gzip or"
                + " uncompressed tar only). Fix: recompress it, e.g. `skopeo copy --dest-compress-format gzip oci:SRC oci:DEST:TAG`.");
    }

    /** Why {@code e} is refused, or empty; records the symbolic links and whiteouts it makes in {@code links}. */
    static Optional<String> refusal(TarArchiveEntry e, Set<String> links) {
        Optional<String> name = relative(e.getName());
        if (name.isEmpty()) {
            return Optional.of("is absolute or climbs out with '..'");
        }
        String n = name.get();
        if (n.isEmpty() && !e.isDirectory()) {
            return Optional.of("would replace the root itself");
        }
        if (e.isLink()) {
            Optional<String> target = relative(e.getLinkName());
            if (target.isEmpty() || target.get().isEmpty()) {
                return Optional.of("is a hard link to '" + printable(e.getLinkName()) + "', outside the root");
            }
            if (throughLink(target.get(), links)) {
                return Optional.of("is a hard link through a symbolic link");
            }
        }
        if (throughLink(n, links)) {
            return Optional.of("passes through a symbolic link an earlier entry made");
        }
        String base = n.substring(n.lastIndexOf('/') + 1);
        if (base.startsWith(WHITEOUT) && !base.equals(OPAQUE)) {
            String target = base.substring(WHITEOUT.length());
            if (target.isEmpty() || target.equals(".") || target.equals("..") || target.startsWith(WHITEOUT)) {
                return Optional.of("is a whiteout of '" + printable(target) + "', which would remove the directory itself or its parent");
            }
            links.remove(n.substring(0, n.length() - base.length()) + target);
        }
        if ((e.isCharacterDevice() || e.isBlockDevice()) && !(n.startsWith("dev/") && n.indexOf('/', 4) < 0)) {
            return Optional.of("is a device node outside dev/");
        }
        if (e.isSymbolicLink()) {
            links.add(n);
        } else {
            links.remove(n);
        }
        return Optional.empty();
    }

    /** {@code name} without a leading "./" and trailing "/"; empty when absolute or with a ".." component. */
    static Optional<String> relative(String name) {
        if ("/".equals(name)) {
            return Optional.of(""); // the root's own entry (umoci insert writes it so), never more
        }
        if (name == null || name.startsWith("/") || name.indexOf('\0') >= 0) {
            return Optional.empty();
        }
        String n = name;
        while (n.startsWith("./")) {
            n = n.substring(2);
        }
        while (n.endsWith("/")) {
            n = n.substring(0, n.length() - 1);
        }
        if (n.equals(".")) {
            return Optional.of("");
        }
        for (String c : n.split("/", -1)) {
            if (c.equals("..")) {
                return Optional.empty();
            }
        }
        return Optional.of(n.replaceAll("/(\\./)+", "/").replaceAll("/+", "/"));
    }

    /** A proper prefix of {@code name} is a symbolic link. */
    private static boolean throughLink(String name, Set<String> links) {
        int slash = name.indexOf('/');
        while (slash > 0) {
            if (links.contains(name.substring(0, slash))) {
                return true;
            }
            slash = name.indexOf('/', slash + 1);
        }
        return false;
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : String.valueOf(s).toCharArray()) {
            b.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        }
        return b.toString();
    }
}
