package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DevcontainerFileTest {

    private static final Path FILE = Path.of("/repo/.devcontainer/devcontainer.json");

    @Test
    void parse_image_withCommentsAndTrailingCommas_isAPull() throws Exception {
        String jsonc = """
                // the team's devbox
                {
                  /* pinned by the platform team */
                  "name": "payments",
                  "image": "registry.acme.dev/team/devbox:1", // bumped weekly
                  "features": {},
                }
                """;
        assertThat(DevcontainerFile.parse(FILE, jsonc)).isEqualTo(new DevcontainerFile.Pull("registry.acme.dev/team/devbox:1"));
    }

    @Test
    void parse_buildDockerfile_isABuild_relativeToTheFilesDirectory() throws Exception {
        assertThat(DevcontainerFile.parse(FILE, "{\"build\": {\"dockerfile\": \"Dockerfile\", \"context\": \"..\"}}"))
                .isEqualTo(new DevcontainerFile.Build(Path.of("/repo/.devcontainer/Dockerfile"), Path.of("/repo")));
        assertThat(DevcontainerFile.parse(FILE, "{\"build\": {\"dockerfile\": \"Dockerfile\"}}"))
                .isEqualTo(new DevcontainerFile.Build(Path.of("/repo/.devcontainer/Dockerfile"), Path.of("/repo/.devcontainer")));
    }

    @Test
    void parse_olderTopLevelDockerFile_isABuild() throws Exception {
        assertThat(DevcontainerFile.parse(FILE, "{\"dockerFile\": \"../Dockerfile.dev\", \"context\": \"..\"}"))
                .isEqualTo(new DevcontainerFile.Build(Path.of("/repo/Dockerfile.dev"), Path.of("/repo")));
    }

    @Test
    void parse_syntaxError_namesFileLineAndColumn() {
        assertThatThrownBy(() -> DevcontainerFile.parse(FILE, "{\n  \"image\": \"x\"\n  \"name\": \"y\"\n}"))
                .isInstanceOf(SandboxException.class).hasMessageStartingWith(FILE + ":3:").hasMessageContaining("Fix: correct the syntax");
    }

    @Test
    void parse_neitherOrBothImageAndBuild_refusedWithTheFix() {
        assertThatThrownBy(() -> DevcontainerFile.parse(FILE, "{\"name\": \"x\"}"))
                .isInstanceOf(SandboxException.class).hasMessageContaining("names no \"image\" and no build.dockerfile").hasMessageContaining("Fix:");
        assertThatThrownBy(() -> DevcontainerFile.parse(FILE, "{\"image\": \"a/b\", \"build\": {\"dockerfile\": \"Dockerfile\"}}"))
                .isInstanceOf(SandboxException.class).hasMessageContaining("has both");
    }

    @Test
    void parse_composeOrNonStringImage_refused() {
        assertThatThrownBy(() -> DevcontainerFile.parse(FILE, "{\"dockerComposeFile\": \"compose.yml\", \"service\": \"app\"}"))
                .isInstanceOf(SandboxException.class).hasMessageContaining("Docker Compose");
        assertThatThrownBy(() -> DevcontainerFile.parse(FILE, "{\"image\": 3}"))
                .isInstanceOf(SandboxException.class).hasMessageContaining("\"image\" must be a non-empty string");
    }

    @Test
    void read_missingFileOrLink_refusedNamingThePath(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> DevcontainerFile.read(dir.resolve("devcontainer.json")))
                .isInstanceOf(SandboxException.class).hasMessageContaining(dir.resolve("devcontainer.json").toString()).hasMessageContaining("is not a file");
        Path real = Files.writeString(dir.resolve("real.json"), "{\"image\": \"a/b\"}");
        Path link = Files.createSymbolicLink(dir.resolve("devcontainer.json"), real);
        assertThatThrownBy(() -> DevcontainerFile.read(link)).isInstanceOf(SandboxException.class).hasMessageContaining("is a link");
        assertThat(DevcontainerFile.read(real)).isEqualTo(new DevcontainerFile.Pull("a/b"));
    }

    @Test
    void imageTool_notInstalled_namesTheToolAndThePackage() {
        // the path DevcontainerBuilds takes where buildah is missing (CI installs it, so this is tested through the runner itself)
        assertThatThrownBy(() -> ImageTool.run("alk-no-such-tool", java.util.List.of(), java.time.Duration.ofSeconds(5), "apt-get install buildah", "x"))
                .isInstanceOf(SandboxException.class).hasMessageContaining("alk-no-such-tool is not installed").hasMessageContaining("Fix: apt-get install buildah");
    }
}
