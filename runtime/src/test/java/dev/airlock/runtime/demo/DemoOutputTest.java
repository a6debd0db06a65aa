package dev.airlock.runtime.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 19 §4: the demo's output in files and CI logs, and the files it leaves. */
class DemoOutputTest {

    @Test
    void colour_onlyOnATerminal_withoutNoColour_orADumbTerminal() {
        assertThat(Demo.colour(Map.of("TERM", "xterm-256color"), true)).as("a terminal").isTrue();
        assertThat(Demo.colour(Map.of("TERM", "xterm-256color"), false)).as("piped to a file").isFalse();
        assertThat(Demo.colour(Map.of("NO_COLOR", "1"), true)).as("NO_COLOR=1").isFalse();
        assertThat(Demo.colour(Map.of("NO_COLOR", "anything"), true)).as("NO_COLOR set to any value").isFalse();
        assertThat(Demo.colour(Map.of("NO_COLOR", ""), true)).as("NO_COLOR empty (no-color.org: ignored)").isTrue();
        assertThat(Demo.colour(Map.of("TERM", "dumb"), true)).as("TERM=dumb").isFalse();
    }

    @Test
    void heading_withoutColour_hasNoEscapeCodes() {
        Demo plain = new Demo(new PrintStream(PrintStream.nullOutputStream()), false);
        Demo bold = new Demo(new PrintStream(PrintStream.nullOutputStream()), true);
        assertThat(plain.heading("result")).isEqualTo("\n== result").doesNotContain("\033");
        assertThat(bold.heading("result")).isEqualTo("\n\033[1m== result\033[0m");
    }

    @Test
    void removeWorkDirectory_removesTheTmpDirectoryAndEverythingInIt(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("alk-demo-123"));
        Files.createDirectories(dir.resolve("workspace/node_modules/x"));
        Files.writeString(dir.resolve("workspace/node_modules/x/index.js"), "1");
        Files.writeString(dir.resolve("world.log"), "log");

        assertThat(Demo.removeWorkDirectory(dir)).isEqualTo("removed " + dir);
        assertThat(dir).doesNotExist();
        assertThat(tmp).exists();
    }

    @Test
    void agentScript_colouredOnlyWhenTheDemoIs() throws Exception {
        assertThat(Demo.agentScript(false)).doesNotContain("@COLOUR@").contains("if [ \"off\" = on ]");
        assertThat(Demo.agentScript(true)).contains("if [ \"on\" = on ]");
        // run the plain one's say(): no escape code reaches a file
        Process p = new ProcessBuilder("bash", "-c", Demo.agentScript(false).lines().takeWhile(l -> !l.startsWith("cd /workspace"))
                .reduce("", (a, b) -> a + b + "\n") + "say hello").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isZero();
        assertThat(out).isEqualTo("\n[agent] hello\n").doesNotContain("\033");
    }

    @Test
    void removeStaleWorkDirectories_removesEarlierDemosDirectories_notTheCurrentOneNorOthers(@TempDir Path tmp) throws Exception {
        Path current = Files.createDirectories(tmp.resolve("alk-demo-1"));
        Path stale = Files.createDirectories(tmp.resolve("alk-demo-2/workspace"));
        Path other = Files.createDirectories(tmp.resolve("not-a-demo"));
        Path target = Files.createDirectories(tmp.resolve("target-of-link"));
        Files.createSymbolicLink(tmp.resolve("alk-demo-link"), target);

        assertThat(Demo.removeStaleWorkDirectories(tmp, current)).singleElement().asString().startsWith("removed " + stale.getParent());

        assertThat(stale.getParent()).doesNotExist();
        assertThat(current).isDirectory();
        assertThat(other).isDirectory();
        assertThat(target).as("a link named like a demo directory is not followed").isDirectory();
    }
}
