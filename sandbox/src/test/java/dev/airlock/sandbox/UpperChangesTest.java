package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The names a sandbox wrote, read from an upper directory as root would: links listed, never followed. */
class UpperChangesTest {

    @TempDir
    Path tmp;

    @Test
    void list_filesLinksAndNestedNames_withoutGit_andNoLinkFollowed() throws Exception {
        Path host = Files.createDirectories(tmp.resolve("host"));
        Files.writeString(host.resolve("secret.txt"), "host\n");
        Path upper = Files.createDirectories(tmp.resolve("upper"));
        Files.writeString(upper.resolve("README"), "edited\n");
        Files.createDirectories(upper.resolve("src/deep"));
        Files.writeString(upper.resolve("src/deep/new.java"), "class A {}\n");
        Files.createDirectories(upper.resolve(".git/objects"));
        Files.writeString(upper.resolve(".git/objects/x"), "internal\n");
        Files.createSymbolicLink(upper.resolve("to-host-dir"), host);
        Files.createSymbolicLink(upper.resolve("src/to-host-file"), host.resolve("secret.txt"));

        Optional<List<String>> names = UpperChanges.list(upper);

        // positive control: following the planted link would have listed the host's file
        assertThat(Files.list(upper.resolve("to-host-dir")).map(p -> p.getFileName().toString())).containsExactly("secret.txt");
        assertThat(names).hasValueSatisfying(n -> assertThat(n).containsExactlyInAnyOrder("README", "src/deep/new.java", "to-host-dir",
                "src/to-host-file"));
    }

    @Test
    void list_anEmptyUpper_isAnEmptyList() throws Exception {
        assertThat(UpperChanges.list(Files.createDirectories(tmp.resolve("upper")))).contains(List.of());
    }

    @Test
    void changes_refsTouched_onlyWhenHeadRefsOrPackedRefsWereWritten() throws Exception {
        Path upper = Files.createDirectories(tmp.resolve("upper"));
        assertThat(UpperChanges.changes(upper)).hasValueSatisfying(c -> assertThat(c.untouched()).isTrue());
        Files.createDirectories(upper.resolve(".git/objects/ab"));
        Files.writeString(upper.resolve(".git/index"), "status refreshed it\n");
        assertThat(UpperChanges.changes(upper)).as("objects and the index move no ref")
                .hasValueSatisfying(c -> assertThat(c.untouched()).isTrue());
        Files.createDirectories(upper.resolve(".git/refs/heads"));
        Files.writeString(upper.resolve(".git/refs/heads/main"), "0123\n");
        assertThat(UpperChanges.changes(upper)).hasValueSatisfying(c -> {
            assertThat(c.refsTouched()).isTrue();
            assertThat(c.names()).isEmpty();
        });
    }

    @Test
    void changes_gitReplacedByALinkOrFile_countsAsMoved_andIsNotFollowed() throws Exception {
        Path upper = Files.createDirectories(tmp.resolve("upper"));
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        Files.createSymbolicLink(upper.resolve(".git"), elsewhere);
        assertThat(UpperChanges.changes(upper)).hasValueSatisfying(c -> assertThat(c.refsTouched()).isTrue());
    }
}
