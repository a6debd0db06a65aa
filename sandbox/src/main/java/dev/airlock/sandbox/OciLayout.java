package dev.airlock.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * An OCI image layout on disk, a directory or an {@code oci-archive} tar of one, copied into a
 * directory of root's own with every blob verified against its digest.
 *
 * <p>Design: the source belongs to the user and may change while it is read. So nothing is used
 * from it in place: the chosen manifest, its config and its layers are copied (never through a link
 * at the last component) and each copy's SHA-256 and size must equal its descriptor's. The copy gets
 * an {@code index.json} naming only that manifest, {@link #REF}, and umoci unpacks the copy, so what
 * is unpacked is exactly what was verified, under the manifest digest the store files it by.
 */
final class OciLayout {

    /** The tag the verified copy gives its one manifest, for {@code umoci unpack --image copy:airlock}. */
    static final String REF = "airlock";
    static final String REF_NAME = "org.opencontainers.image.ref.name";
    static final String MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";
    static final Pattern DIGEST = Pattern.compile("sha256:([0-9a-f]{64})");
    /** index.json and manifests are kilobytes; this only bounds what is read into memory. */
    private static final long MAX_JSON_BYTES = 4L << 20;
    private static final Pattern ARCHIVE_NAME = Pattern.compile("\\./|(\\./)?(oci-layout|index\\.json|blobs/sha256/[0-9a-f]{64}|blobs/?|blobs/sha256/?)");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A content descriptor: what a blob is, its digest and its size. */
    record Descriptor(String mediaType, String digest, long size) {
        String hex() {
            return digest.substring("sha256:".length());
        }
    }

    /** The chosen image: its manifest's descriptor, its config and its layers, lowest first. */
    record Manifest(Descriptor self, Descriptor config, List<Descriptor> layers) {
        Manifest {
            layers = List.copyOf(layers);
        }
    }

    private OciLayout() {
    }

    /**
     * Copies the image {@code tag} (or the layout's only image) of {@code source} into the empty
     * directory {@code to}, verified; {@code pin}, when given, is the manifest digest it must have.
     * {@code scratch} is an empty directory of root's for an archive's contents.
     */
    static Manifest copyVerified(Path source, Optional<String> tag, Optional<String> pin, Path scratch, Path to) throws SandboxException {
        Path dir = source;
        if (Files.isRegularFile(source, LinkOption.NOFOLLOW_LINKS)) {
            extractArchive(source, scratch);
            dir = scratch;
        } else if (!Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS)) {
            throw new SandboxException("image " + source + " is neither an OCI layout directory nor an oci-archive file (or it is a link)."
                    + " Fix: point image.oci at the directory holding index.json, or at a .tar of it.");
        }
        for (Path p : List.of(dir.resolve("blobs"), dir.resolve("blobs").resolve("sha256"))) {
            if (Files.isSymbolicLink(p)) {
                throw new SandboxException("image " + source + ": " + p + " is a link. Fix: an OCI layout's blobs are plain directories.");
            }
        }
        JsonNode index = readJson(dir.resolve("index.json"), source);
        Descriptor chosen = choose(index, tag, source);
        if (pin.isPresent() && !pin.get().equals(chosen.digest())) {
            throw new SandboxException("image " + source + (tag.map(t -> ":" + t).orElse("")) + " is " + chosen.digest() + ", but image.digest pins "
                    + pin.get() + ". Fix: build the pinned image, or update image.digest after checking the new one.");
        }
        try {
            Files.createDirectories(to.resolve("blobs").resolve("sha256"));
            Path manifestCopy = copyBlob(dir, chosen, to, source);
            JsonNode m = readJson(manifestCopy, source);
            if (m.path("schemaVersion").asInt() != 2 || !m.path("config").isObject() || !m.path("layers").isArray()) {
                throw new SandboxException("image " + source + ": manifest " + chosen.digest() + " is not an OCI image manifest."
                        + " Fix: build the image with umoci, buildah or skopeo.");
            }
            Descriptor config = descriptor(m.path("config"), source);
            copyBlob(dir, config, to, source);
            List<Descriptor> layers = new ArrayList<>();
            for (JsonNode l : m.path("layers")) {
                Descriptor d = descriptor(l, source);
                copyBlob(dir, d, to, source);
                layers.add(d);
            }
            Files.writeString(to.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
            ObjectNode out = JSON.createObjectNode();
            out.put("schemaVersion", 2);
            ObjectNode entry = out.putArray("manifests").addObject();
            entry.put("mediaType", chosen.mediaType());
            entry.put("digest", chosen.digest());
            entry.put("size", chosen.size());
            entry.putObject("annotations").put(REF_NAME, REF);
            Files.writeString(to.resolve("index.json"), JSON.writeValueAsString(out));
            return new Manifest(chosen, config, layers);
        } catch (IOException e) {
            throw new SandboxException("cannot copy image " + source + ": " + e + ". Fix: check the layout and the free space of the state directory.", e);
        }
    }

    /**
     * The manifest descriptor {@code tag} names in the layout directory {@code source}, checked
     * against {@code pin}, without copying anything: only a key into the store, whose entries were
     * verified when they were unpacked. Empty for an archive (its index is inside).
     */
    static Optional<Descriptor> peek(Path source, Optional<String> tag, Optional<String> pin) throws SandboxException {
        if (!Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        return Optional.of(pinned(choose(readJson(source.resolve("index.json"), source), tag, source), tag, pin, source));
    }

    /** The manifest digest {@code tag} names in the layout directory or oci-archive {@code source}, checked against {@code pin}. */
    static Descriptor digestOf(Path source, Optional<String> tag, Optional<String> pin) throws SandboxException {
        Optional<Descriptor> d = peek(source, tag, pin);
        if (d.isPresent()) {
            return d.get();
        }
        if (!Files.isRegularFile(source, LinkOption.NOFOLLOW_LINKS)) {
            throw new SandboxException("image " + source + " is neither an OCI layout directory nor an oci-archive file (or it is a link)."
                    + " Fix: point image.oci at the directory holding index.json, or at a .tar of it.");
        }
        try (InputStream raw = Files.newInputStream(source, LinkOption.NOFOLLOW_LINKS);
                TarArchiveInputStream tar = new TarArchiveInputStream(raw)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                if (e.isFile() && (e.getName().equals("index.json") || e.getName().equals("./index.json")) && e.getSize() <= MAX_JSON_BYTES) {
                    return pinned(choose(JSON.readTree(tar.readAllBytes()), tag, source), tag, pin, source);
                }
            }
        } catch (IOException e) {
            throw new SandboxException("cannot read image archive " + source + ": " + e.getMessage() + ". Fix: check that it is an oci-archive tar.", e);
        }
        throw new SandboxException("image archive " + source + " has no index.json. Fix: make it with `skopeo copy … oci-archive:FILE:TAG`.");
    }

    private static Descriptor pinned(Descriptor d, Optional<String> tag, Optional<String> pin, Path source) throws SandboxException {
        if (pin.isPresent() && !pin.get().equals(d.digest())) {
            throw new SandboxException("image " + source + (tag.map(t -> ":" + t).orElse("")) + " is " + d.digest() + ", but image.digest pins "
                    + pin.get() + ". Fix: build the pinned image, or update image.digest after checking the new one.");
        }
        return d;
    }

    /** The manifest {@code tag} names in {@code index} (or its only one), an image manifest. */
    private static Descriptor choose(JsonNode index, Optional<String> tag, Path source) throws SandboxException {
        if (!(index.path("manifests") instanceof ArrayNode all) || all.isEmpty()) {
            throw new SandboxException("image " + source + ": index.json lists no manifests. Fix: build the image into this layout.");
        }
        List<JsonNode> matches = new ArrayList<>();
        List<String> tags = new ArrayList<>();
        for (JsonNode m : all) {
            String name = m.path("annotations").path(REF_NAME).asText("");
            tags.add(name.isEmpty() ? "(untagged)" : name);
            if (tag.isEmpty() || tag.get().equals(name)) {
                matches.add(m);
            }
        }
        if (matches.size() != 1) {
            throw new SandboxException("image " + source + (tag.isPresent() ? " has " + matches.size() + " manifests tagged " + tag.get()
                    : " holds " + matches.size() + " images") + "; its tags: " + tags + ". Fix: name one with image.tag.");
        }
        Descriptor d = descriptor(matches.get(0), source);
        if (!MANIFEST_TYPE.equals(d.mediaType())) {
            throw new SandboxException("image " + source + ": " + d.digest() + " is a " + d.mediaType() + ", not an image manifest (a multi-platform"
                    + " index?). Fix: copy one platform's image, e.g. `skopeo copy --override-arch amd64 oci:SRC oci:DEST:TAG`.");
        }
        return d;
    }

    private static Descriptor descriptor(JsonNode n, Path source) throws SandboxException {
        String digest = n.path("digest").asText("");
        long size = n.path("size").asLong(-1);
        if (!DIGEST.matcher(digest).matches() || size < 0) {
            throw new SandboxException("image " + source + ": descriptor " + n + " has no sha256 digest or size."
                    + " Fix: only sha256 digests are supported; rebuild the image.");
        }
        return new Descriptor(n.path("mediaType").asText(""), digest, size);
    }

    /** Copies blob {@code d} of {@code dir} into {@code to}, never through a link, refusing a wrong digest or size. */
    private static Path copyBlob(Path dir, Descriptor d, Path to, Path source) throws IOException, SandboxException {
        Path from = dir.resolve("blobs").resolve("sha256").resolve(d.hex());
        Path copy = to.resolve("blobs").resolve("sha256").resolve(d.hex());
        if (Files.exists(copy, LinkOption.NOFOLLOW_LINKS)) {
            return copy; // the same content twice (an empty layer repeated)
        }
        if (!Files.isRegularFile(from, LinkOption.NOFOLLOW_LINKS)) {
            throw new SandboxException("image " + source + ": blob " + d.digest() + " is missing or not a plain file."
                    + " Fix: copy the whole layout (skopeo copy oci:SRC oci:DEST:TAG).");
        }
        MessageDigest sha = sha256();
        long n = 0;
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(from, LinkOption.NOFOLLOW_LINKS);
                OutputStream out = Files.newOutputStream(copy, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            int r;
            while ((r = in.read(buf)) > 0) {
                n += r;
                if (n > d.size()) {
                    break;
                }
                sha.update(buf, 0, r);
                out.write(buf, 0, r);
            }
        }
        String actual = "sha256:" + HexFormat.of().formatHex(sha.digest());
        if (n != d.size() || !actual.equals(d.digest())) {
            throw new SandboxException("image " + source + ": blob " + d.digest() + " does not match its digest or size (read " + n + " bytes, "
                    + actual + "): the layout is corrupt or was changed. Nothing was unpacked. Fix: rebuild or re-copy the image.");
        }
        return copy;
    }

    private static JsonNode readJson(Path file, Path source) throws SandboxException {
        try {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) || Files.size(file) > MAX_JSON_BYTES) {
                throw new SandboxException("image " + source + ": " + file.getFileName() + " is missing, a link, or too large."
                        + " Fix: point image.oci at an OCI image layout (a directory with oci-layout, index.json and blobs/).");
            }
            try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
                return JSON.readTree(in);
            }
        } catch (IOException e) {
            throw new SandboxException("image " + source + ": cannot read " + file.getFileName() + ": " + e.getMessage()
                    + ". Fix: rebuild the layout.", e);
        }
    }

    /**
     * Extracts an oci-archive into {@code scratch}: only {@code oci-layout}, {@code index.json} and
     * {@code blobs/sha256/<hex>} as plain files; any other entry (a link, a path elsewhere) refuses it.
     */
    private static void extractArchive(Path archive, Path scratch) throws SandboxException {
        try (InputStream raw = Files.newInputStream(archive, LinkOption.NOFOLLOW_LINKS);
                TarArchiveInputStream tar = new TarArchiveInputStream(raw)) {
            Files.createDirectories(scratch.resolve("blobs").resolve("sha256"));
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                String name = e.getName();
                if (!ARCHIVE_NAME.matcher(name).matches() || !(e.isDirectory() || e.isFile())) {
                    throw new SandboxException("image archive " + archive + " holds '" + name + "', which is no part of an OCI layout."
                            + " Fix: make the archive with `skopeo copy … oci-archive:FILE:TAG` or `tar -C LAYOUT -cf FILE .`.");
                }
                if (e.isFile()) {
                    Files.copy(tar, scratch.resolve(name.startsWith("./") ? name.substring(2) : name));
                }
            }
        } catch (IOException e) {
            throw new SandboxException("cannot read image archive " + archive + ": " + e.getMessage() + ". Fix: check that it is an oci-archive tar.", e);
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }
}
