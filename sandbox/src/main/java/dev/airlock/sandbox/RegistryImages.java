package dev.airlock.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.policy.model.ImageReference;
import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Images from a registry, through skopeo (docs/images.md): the manifest digest a reference names
 * now, and a copy of that manifest into an OCI layout, which {@link ImageStore#unpack} then copies,
 * verifies blob by blob against the same digest, and unpacks like any layout.
 *
 * <p>Design: the digest is the registry's manifest digest, and skopeo copies with
 * {@code --preserve-digests}, so the layout's manifest has that same digest (skopeo refuses rather
 * than convert a Docker v2 manifest). A reference pinned with {@code @sha256:} needs no network to
 * name its digest, so a template's id and the pool status do not ask the registry.
 * Plain HTTP ({@code insecure}) is only ever used for a loopback registry; policy loading refuses
 * it for any other host, and this class checks again.
 */
public final class RegistryImages {

    /** The tag the pulled manifest gets in its layout, for {@link ImageStore#unpack}. */
    public static final String PULLED_TAG = "pulled";
    private static final Duration INSPECT_LIMIT = Duration.ofSeconds(60);
    private static final Duration COPY_LIMIT = Duration.ofMinutes(15);
    private static final String INSTALL = "apt-get install skopeo";
    private static final ObjectMapper JSON = new ObjectMapper();

    private RegistryImages() {
    }

    /**
     * The manifest digest {@code ref} names: its {@code @sha256:} pin, or what the registry serves
     * for its tag now ({@code skopeo inspect --raw}, hashed here). A multi-platform index is refused.
     */
    public static String digest(String ref, boolean insecure) throws SandboxException {
        ImageReference r = parse(ref, insecure);
        if (r.digest().isPresent()) {
            return r.digest().get();
        }
        List<String> args = new ArrayList<>(List.of("inspect", "--raw", "--retry-times", "0"));
        if (insecure) {
            args.add("--tls-verify=false");
        }
        args.add("docker://" + ref);
        byte[] raw = ImageTool.run("skopeo", args, INSPECT_LIMIT, INSTALL, "cannot read image " + ref + " from its registry (is the registry"
                + " reachable, and is the name and tag right?)").stdout();
        String mediaType;
        try {
            JsonNode m = JSON.readTree(raw);
            mediaType = m.path("mediaType").asText("");
            // an OCI manifest may leave out its own mediaType (it is in the descriptor); its config's type says what it is
            if (mediaType.isEmpty() && m.path("schemaVersion").asInt() == 2
                    && "application/vnd.oci.image.config.v1+json".equals(m.path("config").path("mediaType").asText())) {
                mediaType = OciLayout.MANIFEST_TYPE;
            }
            if (m.has("manifests")) {
                throw new SandboxException("image " + ref + " is a multi-platform index (" + mediaType + "), not one image. Fix: pin one platform's"
                        + " manifest, \"ref: " + ref.replaceFirst("@.*", "") + "@sha256:…\" (`skopeo inspect --raw docker://" + ref + "` lists them).");
            }
        } catch (IOException e) {
            throw new SandboxException("image " + ref + ": the registry's manifest is not JSON: " + e.getMessage() + ". Fix: check the reference.", e);
        }
        if (!OciLayout.MANIFEST_TYPE.equals(mediaType)) {
            throw new SandboxException("image " + ref + " has a " + (mediaType.isEmpty() ? "schema 1" : mediaType) + " manifest, not an OCI one;"
                    + " Airlock keeps the registry's digest, so it cannot convert it. Fix: push the image in OCI form"
                    + " (`skopeo copy --format oci …` or `buildah push --format oci …`).");
        }
        return "sha256:" + sha256(raw);
    }

    /**
     * Copies the image {@code ref} names, at manifest digest {@code digest} (from {@link #digest}),
     * into the new OCI layout directory {@code layout}, tagged {@link #PULLED_TAG}. Pulling by
     * digest makes the registry's answer the image that was named, whatever the tag points at meanwhile.
     */
    public static void pull(String ref, boolean insecure, String digest, Path layout) throws SandboxException {
        ImageReference r = parse(ref, insecure);
        String byDigest = r.host().map(h -> h + "/").orElse("") + r.name() + "@" + digest;
        List<String> args = new ArrayList<>(List.of("copy", "--quiet", "--retry-times", "0", "--preserve-digests"));
        if (insecure) {
            args.add("--src-tls-verify=false");
        }
        args.add("docker://" + byDigest);
        args.add("oci:" + layout + ":" + PULLED_TAG);
        ImageTool.run("skopeo", args, COPY_LIMIT, INSTALL, "cannot pull image " + ref + " (" + digest + ")");
    }

    private static ImageReference parse(String ref, boolean insecure) throws SandboxException {
        ImageReference r = ImageReference.parse(ref).orElseThrow(() -> new SandboxException("image " + ref
                + " is not a registry reference. Fix: write HOST[:PORT]/NAME[:TAG][@sha256:…]."));
        if (insecure && !r.loopback()) {
            throw new SandboxException("image " + ref + ": insecure (plain HTTP) is refused for a registry that is not on loopback."
                    + " Fix: serve it over HTTPS and remove image.insecure.");
        }
        return r;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
