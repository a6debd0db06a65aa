package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code airlock template build|list} in a child JVM (the state directory comes from
 * AIRLOCK_STATE), against a git repository made in a temporary directory. The setup is empty
 * here, so no sandbox (and no root) is needed; setups in a sandbox are TemplateSandboxIT's.
 */
class TemplateCommandTest {

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    private Run airlock(String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), Main.class.getName()));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().put("AIRLOCK_STATE", tmp.resolve("state").toString());
        pb.environment().remove("AIRLOCK_ORG");
        Process p = pb.start();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        String out = read(p.getInputStream());
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out, err.join());
    }

    private static String read(java.io.InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private Path sourceRepo() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("source"));
        git(src, "init", "-q", "-b", "main");
        Files.writeString(src.resolve("README"), "hello\n");
        git(src, "add", "-A");
        git(src, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "first");
        return src;
    }

    private static void git(Path dir, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of("git", "-C", dir.toString()));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).inheritIO().start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
    }

    private Path policy(String ref, Path source) throws Exception {
        return Files.writeString(tmp.resolve("airlock.yaml"), """
                version: 1
                project: demo
                workspace: {source: %s, ref: %s, setup: [], cacheKey: [package-lock.json]}
                """.formatted(source, ref));
    }

    @Test
    void build_printsTheTemplateId_andListMarksItCurrent() throws Exception {
        Path policy = policy("main", sourceRepo());
        Run build = airlock("template", "build", "--policy", policy.toString());
        assertThat(build.code()).as(build.err()).isZero();
        assertThat(build.out().strip()).matches("[0-9a-f]{12}-[0-9a-f]{12}");
        // not a terminal: plain progress lines on stderr
        assertThat(build.err()).contains("airlock: cloning " + tmp.resolve("source")).doesNotContain("\r");

        Run list = airlock("template", "list");
        assertThat(list.code()).isZero();
        assertThat(list.out()).contains("*   demo").contains(build.out().strip());
    }

    @Test
    void build_missingBranch_isAnAirlockError_withTheFix() throws Exception {
        Run r = airlock("template", "build", "--policy", policy("release", sourceRepo()).toString());
        assertThat(r.code()).isEqualTo(125);
        assertThat(r.err()).contains("branch 'release' does not exist").contains("Fix:");
    }

    @Test
    void build_policyWithoutWorkspace_isAnAirlockError() throws Exception {
        Path p = Files.writeString(tmp.resolve("airlock.yaml"), "version: 1\nproject: demo\n");
        Run r = airlock("template", "build", "--policy", p.toString());
        assertThat(r.code()).isEqualTo(125);
        assertThat(r.err()).contains("no workspace section");
    }

    @Test
    void list_withNoTemplates_saysHowToBuildOne() throws Exception {
        Run r = airlock("template", "list");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("airlock template build");
    }
}
