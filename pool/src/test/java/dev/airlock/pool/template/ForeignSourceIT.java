package dev.airlock.pool.template;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@code workspace.source} on this host that another user owns (uid 65533), read by root's git
 * as the template build reads it. Needs root (to own nothing of it); with {@code CI=true} a
 * machine without it fails, elsewhere the class is skipped.
 */
class ForeignSourceIT {

    private static final int OTHER = 65533;

    @TempDir
    Path tmp;
    Git git;

    @BeforeEach
    void requireRoot() throws Exception {
        boolean root = Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        if (!root) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail("ForeignSourceIT needs root (to chown a repository to " + OTHER + "), and CI=true requires it");
            }
            Assumptions.abort("ForeignSourceIT skipped: needs root to chown a repository to " + OTHER + " (with CI=true this fails)");
        }
        git = Git.system();
    }

    @Test
    void mirror_aRepositoryAnotherUserOwns_clonesAndFetches_whereRootsGitAloneRefusesIt() throws Exception {
        SourceRepo source = foreign("source");

        // positive control: root's git in the same closed environment, without the exception for this path, refuses it
        Raw control = clone(source.dir.toString(), tmp.resolve("control"), List.of());
        assertThat(control.exit()).as(control.err()).isNotZero();
        assertThat(control.err()).contains("dubious ownership");

        Path mirror = tmp.resolve("mirror");
        git.mirror(source.dir.toString(), mirror, s -> { });
        assertThat(git.head(mirror, "main")).isEqualTo(source.head());

        String second = source.commit("b.txt", "two\n");
        chown(source.dir);
        git.mirror(source.dir.toString(), mirror, s -> { });
        assertThat(git.head(mirror, "main")).isEqualTo(second);
        // nothing of the source was re-owned on the way
        assertThat(Files.getAttribute(source.dir.resolve(".git/config"), "unix:uid", LinkOption.NOFOLLOW_LINKS)).isEqualTo(OTHER);
    }

    @Test
    void mirror_aFileUrlToARepositoryAnotherUserOwns_clones() throws Exception {
        SourceRepo source = foreign("by-url");
        Path mirror = tmp.resolve("mirror");

        git.mirror("file://" + source.dir, mirror, s -> { });

        assertThat(git.head(mirror, "main")).isEqualTo(source.head());
    }

    @Test
    void uploadPack_trustsOnlyTheRepositoryItNames() throws Exception {
        SourceRepo named = foreign("named");
        SourceRepo other = foreign("other");

        Raw wrong = clone(other.dir.toString(), tmp.resolve("wrong"), List.of("--upload-pack=" + LocalSource.uploadPack(git(), named.dir)));
        Raw right = clone(other.dir.toString(), tmp.resolve("right"), List.of("--upload-pack=" + LocalSource.uploadPack(git(), other.dir)));

        assertThat(wrong.exit()).as(wrong.err()).isNotZero();
        assertThat(wrong.err()).contains("dubious ownership");
        assertThat(right.exit()).as(right.err()).isZero();
    }

    private SourceRepo foreign(String name) throws Exception {
        SourceRepo r = new SourceRepo(tmp.resolve(name));
        r.commit("a.txt", "one\n");
        chown(r.dir);
        return r;
    }

    private static void chown(Path dir) throws Exception {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.toList()) {
                Files.setAttribute(p, "unix:uid", OTHER, LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(p, "unix:gid", OTHER, LinkOption.NOFOLLOW_LINKS);
            }
        }
    }

    private static Path git() {
        return Path.of(Files.isExecutable(Path.of("/usr/bin/git")) ? "/usr/bin/git" : "/bin/git");
    }

    record Raw(int exit, String err) {
    }

    /** {@code git clone --mirror --no-local} as {@link Git} runs it (same environment and -c), plus {@code extra} options. */
    private static Raw clone(String source, Path into, List<String> extra) throws Exception {
        List<String> argv = new ArrayList<>(List.of(git().toString(), "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
                "-c", "protocol.file.allow=always", "clone", "--mirror", "--no-local"));
        argv.addAll(extra);
        argv.addAll(List.of("--", source, into.toString()));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        GitEnvironment.isolate(pb.environment(), Git.PROTOCOLS);
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Raw(p.exitValue(), err);
    }
}
