package dev.airlock.sandbox;

import static dev.airlock.sandbox.KernelSupport.inSandbox;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Copy-on-write workspaces against the real kernel: a sandbox over a template writes into its own
 * upper directory and never into the template; it sees the template only as /workspace; a 100-file
 * and a 100,000-file template both mount (the times are printed for docs/BENCHMARKS.md, not
 * asserted); destroy, and a reap after kill -9 of the owner, leave no mount and no directory.
 * Needs root; with {@code CI=true} a machine without it fails, elsewhere the class is skipped.
 */
class SandboxOverlayIT {

    private static final GatewayPorts PORTS = new GatewayPorts(15001, 15053);
    private static final Resources RES = new Resources(256L << 20, 1, 128);
    private static final Duration SCRIPT = Duration.ofSeconds(30);

    @TempDir
    static Path tmp;
    static Path state;
    static SandboxLauncher launcher;
    static CgroupLayout layout;
    static SandboxUser user = SandboxUser.fromEnvironment(System.getenv());

    @BeforeAll
    static void setUp() throws Exception {
        KernelSupport.requireRoot("nsenter", "ip", "nft");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        state = Files.createDirectories(tmp.resolve("state"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
        launcher = SandboxLauncher.system(state);
        layout = KernelOps.system().cgroups();
    }

    @AfterAll
    static void tearDown() {
        if (launcher != null) {
            launcher.close();
            assertThat(overlayMounts()).isEmpty();
            assertThat(KernelSupport.leftovers(layout)).isEmpty();
        }
    }

    /** A template tree of {@code files} files (in directories of 1,000), laid out as TemplateManager does. */
    static Path template(String project, String name, int files) throws IOException {
        Path all = Files.createDirectories(state.resolve("templates"));
        Path mine = Files.createDirectories(all.resolve(project));
        Files.setPosixFilePermissions(all, PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(mine, PosixFilePermissions.fromString("rwx------"));
        Path tree = Files.createDirectories(mine.resolve(name).resolve("tree"));
        for (int i = 0; i < files; i++) {
            Path dir = tree.resolve("d" + (i / 1000));
            if (i % 1000 == 0) {
                Files.createDirectories(dir);
                owned(dir);
            }
            Path f = Files.writeString(dir.resolve("f" + i), "file " + i + "\n");
            owned(f);
        }
        owned(Files.writeString(tree.resolve("README"), "template\n"));
        owned(tree);
        return tree;
    }

    private static void owned(Path p) throws IOException {
        Files.setAttribute(p, "unix:uid", user.uid());
        Files.setAttribute(p, "unix:gid", user.gid());
    }

    /** Overlay mount points under this test's state directory, from /proc/self/mountinfo. */
    static List<Path> overlayMounts() {
        try {
            Path real = state.toRealPath();
            return StepRunner.parseOverlayMounts(Files.readString(StepRunner.MOUNTINFO)).stream()
                    .filter(m -> m.startsWith(real)).toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void write_inSandbox_landsInItsUpperDirectory_neverInTheTemplate() throws Exception {
        Path tree = template("it", "write", 100);
        PreparedSandbox p = launcher.prepare(SandboxSpec.overTemplate("it", tree, RES, PORTS));
        KernelSupport.Result r = inSandbox(launcher, p, SCRIPT, """
                echo "before: $(cat README)"
                echo changed > README && echo new > new.txt && rm d0/f1 && echo "wrote"
                echo "after: $(cat README) $(cat new.txt) $(ls d0 | wc -l)"
                echo "pwd: $(pwd)"
                """);
        assertThat(r.out()).as(r.toString())
                .contains("before: template") // positive control: the sandbox sees the template's content
                .contains("wrote")
                .contains("after: changed new 99")
                .contains("pwd: /workspace");
        assertThat(Files.readString(tree.resolve("README"))).isEqualTo("template\n");
        assertThat(tree.resolve("new.txt")).doesNotExist();
        assertThat(tree.resolve("d0/f1")).exists();
        Path upper = Overlays.upper(state.toRealPath(), p.id());
        assertThat(Files.readString(upper.resolve("new.txt"))).isEqualTo("new\n");
        launcher.destroy(p);
        assertThat(overlayMounts()).isEmpty();
        assertThat(Overlays.cowDir(state.toRealPath(), p.id())).doesNotExist();
        assertThat(Overlays.mountPoint(state.toRealPath(), p.id())).doesNotExist();
    }

    @Test
    void template_isVisibleOnlyAsTheOverlay() throws Exception {
        Path tree = template("it", "hidden", 10);
        PreparedSandbox p = launcher.prepare(SandboxSpec.overTemplate("it", tree, RES, PORTS));
        KernelSupport.Result r = inSandbox(launcher, p, SCRIPT, "for d in " + tree + " " + state + " " + tree.getParent()
                + "; do if [ -e \"$d\" ]; then echo \"visible $d\"; else echo \"absent $d\"; fi; done; "
                + "if [ -e /workspace/README ]; then echo 'workspace ok'; fi; "
                + "grep -c ' /workspace ' /proc/self/mountinfo");
        // positive control: the same paths exist on the host
        assertThat(tree).exists();
        assertThat(r.out()).as(r.toString()).doesNotContain("visible").contains("absent " + tree).contains("workspace ok");
        launcher.destroy(p);
    }

    @Test
    void prepare_100and100000FileTemplates_bothMount_timesPrinted() throws Exception {
        Path small = template("bench", "small", 100);
        Path large = template("bench", "large", 100_000);
        List<String> lines = new ArrayList<>();
        for (Path tree : List.of(small, large)) {
            List<Double> ms = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                long t0 = System.nanoTime();
                PreparedSandbox p = launcher.prepare(SandboxSpec.overTemplate("bench", tree, RES, PORTS));
                ms.add((System.nanoTime() - t0) / 1e6);
                if (i == 0) {
                    KernelSupport.Result r = inSandbox(launcher, p, Duration.ofSeconds(120), "find . -type f | wc -l");
                    assertThat(r.out().strip()).as(r.toString()).isEqualTo(Integer.toString(tree == small ? 101 : 100_001));
                }
                launcher.destroy(p);
            }
            Collections.sort(ms);
            lines.add(String.format("[overlay-it] prepare with a %,d-file template: median %.1f ms, max %.1f ms (5 runs)",
                    tree == small ? 100 : 100_000, ms.get(2), ms.get(4)));
        }
        lines.forEach(System.out::println);
        assertThat(overlayMounts()).isEmpty();
    }

    @Test
    void reap_afterKill9OfTheOwner_unmountsTheOverlay_andRemovesItsDirectories() throws Exception {
        Path tree = template("leak", "killed", 10);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "-XX:TieredStopAtLevel=1",
                LeakChild.class.getName(), state.toString(), tree.toString(), "template").redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = in.readLine()) != null; ) {
                    lines.add(l);
                }
            } catch (IOException e) {
                // killed
            }
        });
        reader.setDaemon(true);
        reader.start();
        String id;
        try {
            assertThat(lines.poll(60, TimeUnit.SECONDS)).isEqualTo("ready");
            String prepared = lines.poll(60, TimeUnit.SECONDS);
            assertThat(prepared).startsWith("prepared alk");
            id = prepared.substring("prepared ".length());
        } finally {
            child.destroyForcibly(); // SIGKILL: no cleanup runs
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        Path point = Overlays.mountPoint(state.toRealPath(), id);
        assertThat(overlayMounts()).as("positive control: the killed owner left its overlay").contains(point);

        ReapReport r = launcher.reap();

        assertThat(r.sandboxes()).as(r.toString()).contains(id);
        assertThat(overlayMounts()).isEmpty();
        assertThat(point).doesNotExist();
        assertThat(Overlays.cowDir(state.toRealPath(), id)).doesNotExist();
        assertThat(Files.readString(tree.resolve("README"))).isEqualTo("template\n");
    }
}
