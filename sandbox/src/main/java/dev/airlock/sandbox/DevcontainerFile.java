package dev.airlock.sandbox;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * What a {@code devcontainer.json} says its image is (docs/images.md): its {@code image}, a
 * registry reference, or its {@code build.dockerfile} (with {@code build.context}), both relative to
 * the file's directory as the devcontainer specification has it. The file is JSONC: comments and
 * trailing commas are allowed. Docker Compose devcontainers are refused: they name services, not one image.
 */
public final class DevcontainerFile {

    private static final ObjectMapper JSONC = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_JAVA_COMMENTS, JsonReadFeature.ALLOW_TRAILING_COMMA)
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    private static final long MAX_BYTES = 1L << 20;

    /** The image a devcontainer names: a closed set. */
    public sealed interface Spec {
    }

    /** {@code "image": "…"}: pull this registry reference. */
    public record Pull(String ref) implements Spec {
    }

    /** {@code "build": {"dockerfile": …, "context": …}}: build this Dockerfile in this context directory. */
    public record Build(Path dockerfile, Path context) implements Spec {
    }

    private DevcontainerFile() {
    }

    /** Reads {@code file}; errors name it, the line where that is known, and the fix. */
    public static Spec read(Path file) throws SandboxException {
        String text;
        try {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                throw new SandboxException(file + " is not a file (or is a link). Fix: point image.devcontainer at the project's"
                        + " .devcontainer/devcontainer.json.");
            }
            if (Files.size(file) > MAX_BYTES) {
                throw new SandboxException(file + " is larger than " + MAX_BYTES + " bytes. Fix: point image.devcontainer at a devcontainer.json.");
            }
            text = Files.readString(file);
        } catch (IOException e) {
            throw new SandboxException("cannot read " + file + ": " + e.getMessage() + ". Fix: check the path in image.devcontainer.", e);
        }
        return parse(file, text);
    }

    /** {@code text}, the contents of {@code file}. */
    static Spec parse(Path file, String text) throws SandboxException {
        JsonNode root;
        try (JsonParser p = JSONC.createParser(text)) {
            root = JSONC.readTree(p);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw new SandboxException(file + (at == null ? "" : ":" + at.getLineNr() + ":" + at.getColumnNr()) + ": not JSON with comments: "
                    + e.getOriginalMessage() + ". Fix: correct the syntax there.", e);
        } catch (IOException e) {
            throw new SandboxException("cannot parse " + file + ": " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SandboxException(file + ": a devcontainer.json is one JSON object. Fix: write {\"image\": \"…\"} or {\"build\": {\"dockerfile\": \"Dockerfile\"}}.");
        }
        if (root.has("dockerComposeFile")) {
            throw new SandboxException(file + ": a Docker Compose devcontainer (dockerComposeFile) names services, not one image. Fix: give the"
                    + " devbox its own devcontainer.json with \"image\" or \"build\", or write image: {ref: …} in airlock.yaml.");
        }
        JsonNode build = root.path("build");
        // "dockerFile" and "context" at the top level are the specification's older spelling of build.*
        JsonNode dockerfile = build.has("dockerfile") ? build.get("dockerfile") : root.path("dockerFile");
        JsonNode context = build.has("context") ? build.get("context") : root.path("context");
        boolean hasImage = root.has("image");
        boolean hasBuild = !dockerfile.isMissingNode();
        if (hasImage == hasBuild) {
            throw new SandboxException(file + (hasImage ? ": has both \"image\" and a Dockerfile" : ": names no \"image\" and no build.dockerfile")
                    + ". Fix: keep exactly one: \"image\": \"registry.example/team/devbox:1\" or \"build\": {\"dockerfile\": \"Dockerfile\"}.");
        }
        Path dir = file.toAbsolutePath().normalize().getParent();
        if (hasImage) {
            JsonNode image = root.get("image");
            if (!image.isTextual() || image.asText().isBlank()) {
                throw new SandboxException(file + ": \"image\" must be a non-empty string. Fix: write \"image\": \"registry.example/team/devbox:1\".");
            }
            return new Pull(image.asText());
        }
        if (!dockerfile.isTextual() || dockerfile.asText().isBlank() || (!context.isMissingNode() && !context.isTextual())) {
            throw new SandboxException(file + ": build.dockerfile and build.context must be strings. Fix: write \"build\": {\"dockerfile\": \"Dockerfile\","
                    + " \"context\": \"..\"}.");
        }
        return new Build(dir.resolve(dockerfile.asText()).normalize(), dir.resolve(context.isMissingNode() ? "." : context.asText()).normalize());
    }
}
