package dev.airlock.pool.template;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A git repository in a temporary directory, standing in for a project's workspace.source: no network. */
final class SourceRepo {

    final Path dir;

    SourceRepo(Path dir) throws Exception {
        this.dir = Files.createDirectories(dir);
        git("init", "-q", "-b", "main");
    }

    /** Writes {@code file} and commits it; returns the new commit. */
    String commit(String file, String content) throws Exception {
        Path f = dir.resolve(file);
        Files.createDirectories(f.getParent());
        Files.writeString(f, content);
        git("add", "-A");
        git("commit", "-q", "-m", "change " + file);
        return git("rev-parse", "HEAD");
    }

    String head() throws Exception {
        return git("rev-parse", "HEAD");
    }

    String git(String... args) throws Exception {
        return run(dir, args);
    }

    /** Runs git in {@code dir} with a fixed identity and no user configuration; its stdout, stripped. */
    static String run(Path dir, String... args) throws Exception {
        List<String> argv = new java.util.ArrayList<>(List.of("git", "-c", "user.name=test", "-c", "user.email=test@example.invalid",
                "-c", "safe.directory=*", "-C", dir.toString()));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        pb.environment().put("GIT_CONFIG_NOSYSTEM", "1");
        pb.environment().put("GIT_CONFIG_GLOBAL", "/dev/null");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("git " + String.join(" ", args) + " in " + dir + " failed: " + out);
        }
        return out.strip();
    }
}
