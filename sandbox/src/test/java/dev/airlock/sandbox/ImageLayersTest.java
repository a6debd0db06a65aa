package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.sandbox.TestLayouts.Entry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Reading an image before anything is unpacked ({@link OciLayout}, {@link LayerCheck}): each layer
 * trick is refused, and each row's control, the same layer without the trick, passes.
 */
class ImageLayersTest {

    @TempDir
    Path tmp;

    static Stream<Arguments> tricks() {
        return Stream.of(
                Arguments.of("a '..' name", List.of(Entry.file("../escape", "x")), List.of(Entry.file("escape", "x"))),
                Arguments.of("'..' deeper in a name", List.of(Entry.dir("usr"), Entry.file("usr/../../escape", "x")),
                        List.of(Entry.dir("usr"), Entry.file("usr/escape", "x"))),
                Arguments.of("an absolute name", List.of(Entry.file("/etc/escape", "x")), List.of(Entry.file("etc/escape", "x"))),
                Arguments.of("a hard link out of the root", List.of(Entry.hardlink("shadow", "../../etc/shadow")),
                        List.of(Entry.file("a", "x"), Entry.hardlink("shadow", "a"))),
                Arguments.of("an absolute hard link", List.of(Entry.hardlink("shadow", "/etc/shadow")),
                        List.of(Entry.file("etc/shadow", "x"), Entry.hardlink("shadow", "etc/shadow"))),
                Arguments.of("writing through a link the layer made", List.of(Entry.symlink("evil", "/root"), Entry.file("evil/pwned", "x")),
                        List.of(Entry.dir("evil"), Entry.file("evil/pwned", "x"))),
                Arguments.of("a whiteout of the parent", List.of(Entry.dir("usr"), Entry.file("usr/.wh...", "")),
                        List.of(Entry.dir("usr"), Entry.file("usr/.wh.lib", ""))),
                Arguments.of("a whiteout of the directory itself", List.of(Entry.file("usr/.wh.", "")),
                        List.of(Entry.file("usr/.wh..wh..opq", ""))),
                Arguments.of("a whiteout climbing out", List.of(Entry.file("../.wh.etc", "")), List.of(Entry.file(".wh.etc", ""))),
                Arguments.of("a device node outside dev/", List.of(Entry.charDevice("usr/mem")), List.of(Entry.charDevice("dev/null"))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("tricks")
    void check_layerTrick_refusedAndControlPasses(String trick, List<Entry> bad, List<Entry> good) throws Exception {
        Path badLayout = tmp.resolve("bad");
        TestLayouts.layout(badLayout, "t", bad);
        OciLayout.Manifest m = OciLayout.copyVerified(badLayout, Optional.of("t"), Optional.empty(), tmp.resolve("s1"), tmp.resolve("c1"));
        assertThatThrownBy(() -> LayerCheck.check(m.layers(), tmp.resolve("c1/blobs/sha256"))).as(trick)
                .isInstanceOf(SandboxException.class).hasMessageContaining("is refused").hasMessageContaining("Nothing was unpacked");

        Path goodLayout = tmp.resolve("good");
        TestLayouts.layout(goodLayout, "t", good);
        OciLayout.Manifest g = OciLayout.copyVerified(goodLayout, Optional.of("t"), Optional.empty(), tmp.resolve("s2"), tmp.resolve("c2"));
        LayerCheck.check(g.layers(), tmp.resolve("c2/blobs/sha256"));
    }

    @Test
    void check_linkFromLowerLayerThenWhiteout_allowsTheNameAgain() {
        java.util.Set<String> links = new java.util.HashSet<>();
        assertThat(LayerCheck.refusal(tar(Entry.symlink("a", "/x")), links)).isEmpty();
        assertThat(LayerCheck.refusal(tar(Entry.file("a/b", "")), links)).isPresent();
        assertThat(LayerCheck.refusal(tar(Entry.file(".wh.a", "")), links)).isEmpty();
        assertThat(LayerCheck.refusal(tar(Entry.file("a/b", "")), links)).isEmpty();
    }

    @Test
    void relative_names_normalisedOrRefused() {
        assertThat(LayerCheck.relative("./usr/bin/")).contains("usr/bin");
        assertThat(LayerCheck.relative("./")).contains("");
        assertThat(LayerCheck.relative("/")).contains(""); // the root's own entry
        assertThat(LayerCheck.refusal(tar(Entry.dir("/")), new java.util.HashSet<>())).isEmpty();
        assertThat(LayerCheck.relative("usr//bin")).contains("usr/bin");
        assertThat(LayerCheck.relative("usr/..")).isEmpty();
        assertThat(LayerCheck.relative("/usr")).isEmpty();
        assertThat(LayerCheck.relative("..")).isEmpty();
        assertThat(LayerCheck.relative("a..b/..c")).contains("a..b/..c"); // dots inside a name are names
    }

    @Test
    void copyVerified_changedBlob_refusedNamingTheDigest() throws Exception {
        Path layout = tmp.resolve("l");
        TestLayouts.layout(layout, "t", List.of(Entry.file("a", "original")));
        OciLayout.Manifest m = OciLayout.copyVerified(layout, Optional.of("t"), Optional.empty(), tmp.resolve("s0"), tmp.resolve("c0"));
        Path layer = layout.resolve("blobs/sha256").resolve(m.layers().get(0).hex());
        byte[] bytes = Files.readAllBytes(layer);
        bytes[600] ^= 1; // inside the first entry's content
        Files.write(layer, bytes);
        assertThatThrownBy(() -> OciLayout.copyVerified(layout, Optional.of("t"), Optional.empty(), tmp.resolve("s1"), tmp.resolve("c1")))
                .isInstanceOf(SandboxException.class).hasMessageContaining(m.layers().get(0).digest()).hasMessageContaining("does not match");
    }

    @Test
    void copyVerified_pinnedDigest_mustMatch() throws Exception {
        Path layout = tmp.resolve("l");
        String digest = TestLayouts.layout(layout, "t", List.of(Entry.file("a", "x")));
        assertThat(OciLayout.copyVerified(layout, Optional.empty(), Optional.of(digest), tmp.resolve("s0"), tmp.resolve("c0")).self().digest())
                .isEqualTo(digest);
        String other = "sha256:" + "0".repeat(64);
        assertThatThrownBy(() -> OciLayout.copyVerified(layout, Optional.empty(), Optional.of(other), tmp.resolve("s1"), tmp.resolve("c1")))
                .isInstanceOf(SandboxException.class).hasMessageContaining("pins " + other);
    }

    @Test
    void copyVerified_unknownTag_namesTheTags() throws Exception {
        Path layout = tmp.resolve("l");
        TestLayouts.layout(layout, "v1", List.of(Entry.file("a", "x")));
        assertThatThrownBy(() -> OciLayout.copyVerified(layout, Optional.of("v2"), Optional.empty(), tmp.resolve("s"), tmp.resolve("c")))
                .isInstanceOf(SandboxException.class).hasMessageContaining("[v1]").hasMessageContaining("image.tag");
    }

    @Test
    void copyVerified_archiveWithForeignEntry_refused() throws Exception {
        Path archive = tmp.resolve("image.tar");
        Files.write(archive, TestLayouts.tar(List.of(Entry.file("index.json", "{}"), Entry.file("../../etc/cron.d/x", "boom"))));
        assertThatThrownBy(() -> OciLayout.copyVerified(archive, Optional.empty(), Optional.empty(), tmp.resolve("s"), tmp.resolve("c")))
                .isInstanceOf(SandboxException.class).hasMessageContaining("no part of an OCI layout");
        assertThat(tmp.resolve("etc")).doesNotExist();
    }

    private static org.apache.commons.compress.archivers.tar.TarArchiveEntry tar(Entry e) {
        org.apache.commons.compress.archivers.tar.TarArchiveEntry a = new org.apache.commons.compress.archivers.tar.TarArchiveEntry(e.name(),
                e.type(), true);
        if (!e.target().isEmpty()) {
            a.setLinkName(e.target());
        }
        return a;
    }
}
