package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A devcontainer's Dockerfile built with buildah, offline ({@code FROM scratch}), into the store.
 * Root: buildah's storage and the store's unpack.
 */
class DevcontainerBuildsIT {

    @TempDir
    Path tmp;

    @Test
    void build_dockerfileFromScratch_unpacksIntoTheStoreWithItsFiles_andABrokenOneFailsNamingTheDockerfile() throws Exception {
        KernelSupport.requireRoot("buildah", "umoci");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path repo = Files.createDirectories(tmp.resolve("repo"));
        Path dc = Files.createDirectories(repo.resolve(".devcontainer"));
        Files.writeString(repo.resolve("marker"), "built by buildah\n");
        Files.writeString(dc.resolve("Dockerfile"), "FROM scratch\nCOPY marker /usr/share/marker\n");
        Files.writeString(dc.resolve("devcontainer.json"), "{ // built here\n \"build\": {\"dockerfile\": \"Dockerfile\", \"context\": \"..\"},\n}\n");
        DevcontainerFile.Build build = (DevcontainerFile.Build) DevcontainerFile.read(dc.resolve("devcontainer.json"));

        Path layout = tmp.resolve("layout");
        DevcontainerBuilds.build(build, layout);
        Path state = Files.createDirectories(tmp.resolve("state"));
        ImageStore.Unpacked u = new ImageStore(state, KernelOps.system()).unpack(layout, Optional.of(DevcontainerBuilds.BUILT_TAG), Optional.empty());
        assertThat(Files.readString(u.root().resolve("usr/share/marker"))).isEqualTo("built by buildah\n");
        assertThat(u.digest()).isEqualTo(ImageStore.manifestDigest(layout, Optional.of(DevcontainerBuilds.BUILT_TAG), Optional.empty()));

        Files.writeString(dc.resolve("Dockerfile"), "FROM scratch\nCOPY no-such-file /x\n");
        assertThatThrownBy(() -> DevcontainerBuilds.build(build, tmp.resolve("layout2"))).isInstanceOf(SandboxException.class)
                .hasMessageContaining("cannot build " + dc.resolve("Dockerfile")).hasMessageContaining("no-such-file");
    }
}
