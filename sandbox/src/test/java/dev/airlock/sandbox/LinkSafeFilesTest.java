package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Links a sandbox plants where root later deletes or writes: each case runs the naive operation
 * first (the positive control: the link does redirect it) and then {@link LinkSafeFiles}, which is
 * not redirected. The owner changes (which need root) and a mount below a tree are in
 * {@code LinkSafeFilesIT}.
 */
class LinkSafeFilesTest {

    @TempDir
    Path tmp;

    /** A workspace as a sandbox leaves it: a file, a link to a host file, a link to a host directory, a nested directory. */
    private Path plantedTree(String name, Path hostFile, Path hostDir) throws IOException {
        Path ws = Files.createDirectories(tmp.resolve(name));
        Files.writeString(ws.resolve("own.txt"), "the sandbox's\n");
        Files.createDirectories(ws.resolve("a/b"));
        Files.writeString(ws.resolve("a/b/deep.txt"), "deep\n");
        Files.createSymbolicLink(ws.resolve("a/to-file"), hostFile);
        Files.createSymbolicLink(ws.resolve("a/b/to-dir"), hostDir);
        return ws;
    }

    private Path hostFile(String name) throws IOException {
        return Files.writeString(tmp.resolve(name), "host secret\n");
    }

    private Path hostDir(String name) throws IOException {
        Path d = Files.createDirectories(tmp.resolve(name));
        Files.writeString(d.resolve("keep.txt"), "host file in a host directory\n");
        return d;
    }

    @Test
    void deleteTree_plantedLinks_removesTheLinksNotTheirTargets() throws IOException {
        // Positive control: a removal that follows links deletes the host's files.
        Path controlFile = hostFile("control-secret");
        Path controlDir = hostDir("control-dir");
        Path control = plantedTree("control", controlFile, controlDir);
        try (Stream<Path> s = Files.walk(control, FileVisitOption.FOLLOW_LINKS)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
        assertThat(controlDir.resolve("keep.txt")).as("the naive removal followed the link").doesNotExist();

        Path secret = hostFile("secret");
        Path dir = hostDir("dir");
        Path ws = plantedTree("ws", secret, dir);
        LinkSafeFiles.deleteTree(ws);
        assertThat(ws).doesNotExist();
        assertThat(secret).hasContent("host secret");
        assertThat(dir.resolve("keep.txt")).hasContent("host file in a host directory");
    }

    @Test
    void deleteTree_theTopIsALink_removesOnlyTheLink() throws IOException {
        Path dir = hostDir("dir");
        Path link = Files.createSymbolicLink(tmp.resolve("w-link"), dir);
        LinkSafeFiles.deleteTree(link);
        assertThat(Files.exists(link, LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(dir.resolve("keep.txt")).exists();
    }

    @Test
    void deleteTree_absent_doesNothing() throws IOException {
        LinkSafeFiles.deleteTree(tmp.resolve("never"));
        assertThat(tmp).exists();
    }

    /**
     * {@code top} with a chain of {@code depth} directories (itself the first), a file at the bottom.
     * Built bottom-up by renames so that no path is longer than a few names (PATH_MAX is 4096).
     */
    private Path chain(String name, int depth) throws IOException {
        Path top = Files.createDirectories(tmp.resolve(name));
        Files.writeString(top.resolve("bottom.txt"), "deepest\n");
        Path spare = tmp.resolve(name + "-spare");
        for (int i = 1; i < depth; i++) {
            Files.createDirectory(spare);
            Files.move(top, spare.resolve("d"));
            Files.move(spare, top);
        }
        return top;
    }

    /** Undoes {@link #chain} the same way (JUnit's clean-up walks by path, which such a tree exceeds). */
    private void unchain(Path top) throws IOException {
        Path spare = top.resolveSibling(top.getFileName() + "-spare");
        while (Files.isDirectory(top.resolve("d"))) {
            Files.move(top.resolve("d"), spare);
            Files.delete(top);
            Files.move(spare, top);
        }
    }

    @Test
    void deleteTree_aTreeUpToTheDepthCap_isRemoved() throws IOException {
        Path top = chain("deep-ok", LinkSafeFiles.MAX_DEPTH);
        LinkSafeFiles.deleteTree(top);
        assertThat(top).doesNotExist();
    }

    @Test
    void deleteTree_5000Deep_failsWithAClearIOException_notAnError() throws IOException {
        Path top = chain("deep-5000", 5000);
        try {
            assertThatThrownBy(() -> LinkSafeFiles.deleteTree(top)).isExactlyInstanceOf(IOException.class)
                    .hasMessageContaining("deeper than " + LinkSafeFiles.MAX_DEPTH).hasMessageContaining("Fix:");
            assertThat(LinkSafeFiles.deleteTreeKeepingMounts(top)).singleElement().asString().contains("deeper than");
            assertThat(top).isDirectory();
        } finally {
            unchain(top);
        }
    }

    @Test
    void replace_symlinkAtTheName_replacesTheLinkAndLeavesItsTarget() throws IOException {
        Path controlTarget = hostFile("control-target");
        Path controlDir = Files.createDirectories(tmp.resolve("control-ws"));
        Files.createSymbolicLink(controlDir.resolve("events.jsonl"), controlTarget);
        Files.writeString(controlDir.resolve("events.jsonl"), "{\"event\":\"decision\"}\n");
        assertThat(controlTarget).as("positive control: a plain write lands in the link's target")
                .hasContent("{\"event\":\"decision\"}");

        Path target = hostFile("target");
        Path ws = Files.createDirectories(tmp.resolve("ws"));
        Files.createSymbolicLink(ws.resolve("events.jsonl"), target);
        try (LinkSafeFiles.Directory d = LinkSafeFiles.openDirectory(ws)) {
            d.replace("events.jsonl", "{\"event\":\"decision\"}\n".getBytes(StandardCharsets.UTF_8));
        }
        assertThat(target).hasContent("host secret");
        assertThat(ws.resolve("events.jsonl")).isRegularFile().hasContent("{\"event\":\"decision\"}");
        assertThat(Files.isSymbolicLink(ws.resolve("events.jsonl"))).isFalse();
        try (Stream<Path> s = Files.list(ws)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("events.jsonl");
        }
    }

    @Test
    void replace_hardLinkAtTheName_leavesTheOtherName() throws IOException {
        Path controlTarget = hostFile("control-target");
        Path controlDir = Files.createDirectories(tmp.resolve("control-ws"));
        Files.createLink(controlDir.resolve("events.jsonl"), controlTarget);
        Files.writeString(controlDir.resolve("events.jsonl"), "overwritten\n");
        assertThat(controlTarget).as("positive control: a plain write changes the hard link's other name").hasContent("overwritten");

        Path target = hostFile("target");
        Path ws = Files.createDirectories(tmp.resolve("ws"));
        Files.createLink(ws.resolve("events.jsonl"), target);
        LinkSafeFiles.replaceFile(ws.resolve("events.jsonl"), "events\n".getBytes(StandardCharsets.UTF_8));
        assertThat(target).hasContent("host secret");
        assertThat(ws.resolve("events.jsonl")).hasContent("events");
        assertThat((Integer) Files.getAttribute(ws.resolve("events.jsonl"), "unix:nlink")).isEqualTo(1);
    }

    @Test
    void replace_directorySwappedForALinkAfterOpening_writesIntoTheOpenedDirectory() throws IOException {
        Path hostDir = hostDir("host-dir");
        Path ws = Files.createDirectories(tmp.resolve("ws"));
        Path out = Files.createDirectories(ws.resolve("out"));
        try (LinkSafeFiles.Directory d = LinkSafeFiles.openDirectory(out)) {
            // What a sandbox does while it runs: move the directory aside, put a link to a host directory in its place.
            Files.move(out, ws.resolve("out-moved"));
            Files.createSymbolicLink(out, hostDir);
            Files.writeString(out.resolve("control.jsonl"), "x\n");
            assertThat(hostDir.resolve("control.jsonl")).as("positive control: the path now leads into the host directory").exists();

            d.replace("events.jsonl", "events\n".getBytes(StandardCharsets.UTF_8));
        }
        assertThat(hostDir.resolve("events.jsonl")).doesNotExist();
        assertThat(ws.resolve("out-moved/events.jsonl")).hasContent("events");
    }

    @Test
    void replace_notAPlainName_isRefused() throws IOException {
        try (LinkSafeFiles.Directory d = LinkSafeFiles.openDirectory(tmp)) {
            assertThatThrownBy(() -> d.replace("../alk-escaped", new byte[0])).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> d.replace("..", new byte[0])).isInstanceOf(IOException.class);
        }
        assertThat(Files.exists(tmp.resolveSibling("alk-escaped"), LinkOption.NOFOLLOW_LINKS)).isFalse();
    }
}
