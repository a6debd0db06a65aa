package dev.airlock.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The first half of export: the agent's work, produced <em>inside</em> its sandbox as data. Three
 * short commands run there through the daemon's exec (a fresh bubblewrap, as the sandbox user):
 * <ol>
 *   <li>status: HEAD, and how many commits it has beyond the commit the workspace started at;</li>
 *   <li>the commits: {@code git bundle create - HEAD ^BASE} on stdout;</li>
 *   <li>the uncommitted rest: a temporary index with every change staged ({@code git add -A}, so
 *       untracked files too, minus what .gitignore ignores), then {@code git diff --cached --binary}
 *       against HEAD, limited to the names the sandbox wrote (its overlay's upper directory), so the
 *       template's own untracked build output is not mistaken for the agent's.</li>
 * </ol>
 *
 * <p>Design: where git runs. The workspace's {@code .git} is the agent's: its config can name
 * programs ({@code core.fsmonitor}, {@code core.hooksPath}, filters, pagers) and its hooks are
 * programs. git inside the sandbox may run them: they are confined like the agent itself. The host
 * only receives bytes (on stdout, size-capped, into root's own directory) and never runs git in
 * that repository nor fetches from it ({@code git fetch /that/repo} would run upload-pack there,
 * which reads its config). {@link RepoImport} then treats the bundle as untrusted data. The
 * options given here ({@code core.hooksPath=/dev/null}, no fsmonitor, no external diff or
 * textconv, fixed prefixes) are for correct output, not for the host's safety, which does not
 * depend on anything the sandbox's git does.
 */
final class WorkCapture {

    /** One export file may be this large; a larger one fails the export (and the work is kept). */
    static final long MAX_BYTES = 2L << 30;
    /** One step may take this long (a large repository's status and diff); then it is killed and the export fails. */
    static final Duration STEP_TIMEOUT = Duration.ofMinutes(10);

    private static final String GIT = "git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c core.untrackedCache=false"
            + " -c 'safe.directory=*' -c core.quotePath=false";

    /** $1, $2: candidate base commits (the first present wins). Prints "HEAD COUNT [BASE]", or "none" without a commit. */
    static final String STATUS = "h=$(" + GIT + " rev-parse -q --verify 'HEAD^{commit}') || { echo none; exit 0; }; base=; "
            + "for b in \"$1\" \"$2\"; do if [ -n \"$b\" ] && " + GIT + " cat-file -e \"$b^{commit}\" 2>/dev/null; then base=$b; break; fi; done; "
            + "if [ -n \"$base\" ]; then n=$(" + GIT + " rev-list --count \"$h\" \"^$base\") || exit 3; "
            + "else n=$(" + GIT + " rev-list --count \"$h\") || exit 3; fi; echo \"$h $n $base\"";

    /** $1: the base, or empty for every commit. The bundle on stdout. */
    static final String BUNDLE = "if [ -n \"$1\" ]; then exec " + GIT + " bundle create -q - HEAD \"^$1\"; else exec " + GIT
            + " bundle create -q - HEAD; fi";

    /** The staged changes against HEAD as a binary patch with the usual a/ and b/ prefixes, whatever the repository's config says. */
    private static final String DIFF = GIT + " --literal-pathspecs diff --cached --binary --full-index --no-color --no-ext-diff"
            + " --no-textconv --no-renames --src-prefix=a/ --dst-prefix=b/ HEAD";

    /**
     * $1: "all", or "listed" with the names (NUL-separated) on stdin. A temporary index, seeded from
     * the real one so that unchanged files are not hashed again, takes every change; the binary
     * diff against HEAD goes to stdout. The real index and the work tree are not touched.
     */
    static final String PATCH = "set -e; i=$(mktemp); trap 'rm -f \"$i\"' EXIT; rm -f \"$i\"; "
            + "g=$(" + GIT + " rev-parse --git-path index); if [ -f \"$g\" ]; then cp \"$g\" \"$i\"; fi; export GIT_INDEX_FILE=\"$i\"; "
            + GIT + " read-tree -m HEAD 2>/dev/null || { rm -f \"$i\"; " + GIT + " read-tree HEAD; }; "
            + GIT + " add -A -- :/; "
            + "if [ \"$1\" = all ]; then " + DIFF + "; else xargs -0 -r " + DIFF + " --; fi";

    private static final Pattern OBJECT = Pattern.compile("[0-9a-f]{40}|[0-9a-f]{64}");
    private static final Pattern STATUS_LINE = Pattern.compile("(" + OBJECT.pattern() + ") (\\d{1,9}) ?(" + OBJECT.pattern() + ")?");

    /** What a capture found. */
    sealed interface Result permits Nothing, Captured {
    }

    /** Nothing new: no commit beyond the base and no change in the work tree (or no git repository at all). */
    record Nothing(String why) implements Result {
    }

    /**
     * The agent's work: HEAD, the base it was compared with (empty: none, every commit is new), the
     * number of new commits, the bundle of those (when there are any) and the binary patch of the
     * uncommitted rest (when there is one).
     */
    record Captured(String head, String base, int commits, Optional<Path> bundle, Optional<Path> patch) implements Result {
    }

    /** A step failed: what, and what it said. */
    static final class CaptureException extends Exception {
        CaptureException(String message) {
            super(message);
        }
    }

    private WorkCapture() {
    }

    /**
     * Produces the work inside the sandbox behind {@code shell}: the new commits beyond the first of
     * {@code bases} the workspace has (none: every commit), and the uncommitted changes of the names
     * in {@code changed} (empty: of the whole work tree). Files go into {@code into}, a directory
     * only root can reach, as {@code work.bundle} and {@code work.patch}.
     */
    static Result capture(SandboxShell shell, List<String> bases, Optional<List<String>> changed, Path into) throws CaptureException {
        for (String b : bases) {
            if (!b.isEmpty() && !OBJECT.matcher(b).matches()) {
                throw new IllegalArgumentException("not a commit id: " + b);
            }
        }
        String first = bases.isEmpty() ? "" : bases.get(0);
        String second = bases.size() < 2 ? "" : bases.get(1);
        Path statusFile = into.resolve("status");
        run(shell, "status", List.of("/bin/sh", "-c", STATUS, "airlock-export", first, second), new byte[0], statusFile, 4096);
        String status;
        try {
            status = Files.readString(statusFile, StandardCharsets.UTF_8).strip();
            Files.delete(statusFile);
        } catch (IOException e) {
            throw new CaptureException("cannot read the status step's output: " + e);
        }
        if (status.equals("none")) {
            if (changed.isPresent() && !changed.get().isEmpty()) {
                // a workspace over a template had a repository: its loss must not pass for "nothing new"
                throw new CaptureException("its git repository is unreadable (no HEAD), yet it wrote " + changed.get().size()
                        + " name(s), e.g. " + abbreviate(changed.get().get(0)));
            }
            return new Nothing("the workspace has no git commit");
        }
        Matcher m = STATUS_LINE.matcher(status);
        if (!m.matches()) {
            throw new CaptureException("the status step printed '" + abbreviate(status) + "', not HEAD, a count and a base");
        }
        String head = m.group(1);
        int commits = Integer.parseInt(m.group(2));
        String base = m.group(3) == null ? "" : m.group(3);
        Optional<Path> bundle = Optional.empty();
        if (commits > 0) {
            Path b = into.resolve("work.bundle");
            run(shell, "bundle", List.of("/bin/sh", "-c", BUNDLE, "airlock-export", base), new byte[0], b, MAX_BYTES);
            bundle = Optional.of(b);
        }
        Optional<Path> patch = Optional.empty();
        if (changed.isEmpty() || !changed.get().isEmpty()) {
            Path p = into.resolve("work.patch");
            byte[] names = changed.map(WorkCapture::nulSeparated).orElse(new byte[0]);
            run(shell, "patch", List.of("/bin/sh", "-c", PATCH, "airlock-export", changed.isPresent() ? "listed" : "all"), names, p, MAX_BYTES);
            try {
                if (Files.size(p) == 0) {
                    Files.delete(p);
                } else {
                    patch = Optional.of(p);
                }
            } catch (IOException e) {
                throw new CaptureException("cannot read the patch step's output: " + e);
            }
        }
        if (bundle.isEmpty() && patch.isEmpty()) {
            return new Nothing("no commit beyond " + (base.isEmpty() ? "the start" : abbreviate(base)) + " and no uncommitted change");
        }
        return new Captured(head, base, commits, bundle, patch);
    }

    private static byte[] nulSeparated(List<String> names) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String n : names) {
            out.writeBytes(n.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return out.toByteArray();
    }

    /**
     * Runs one step: {@code stdin} written on its own thread (a command that reads late must not
     * stall the reading of its output), stdout into {@code out} (created fresh, at most
     * {@code max} bytes), stderr kept for the message. A non-zero exit, a timeout or too much
     * output fails the step.
     */
    private static void run(SandboxShell shell, String step, List<String> command, byte[] stdin, Path out, long max) throws CaptureException {
        Process p;
        try {
            p = shell.exec(command);
        } catch (IOException e) {
            throw new CaptureException("the " + step + " step could not start in the sandbox: " + e.getMessage());
        }
        Thread writer = Thread.ofVirtual().start(() -> {
            try (OutputStream in = p.getOutputStream()) {
                in.write(stdin);
            } catch (IOException e) {
                // the command closed its stdin early; its exit status tells
            }
        });
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread errors = Thread.ofVirtual().start(() -> keepTail(p.getErrorStream(), err));
        boolean tooLarge = false;
        try (InputStream from = p.getInputStream();
                OutputStream to = Files.newOutputStream(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] buf = new byte[65536];
            long total = 0;
            for (int n; (n = from.read(buf)) > 0; ) {
                total += n;
                if (total > max) {
                    tooLarge = true;
                    p.destroyForcibly();
                    break;
                }
                to.write(buf, 0, n);
            }
        } catch (IOException e) {
            p.destroyForcibly();
            throw new CaptureException("the " + step + " step's output could not be stored in " + out + ": " + e);
        }
        try {
            if (!p.waitFor(STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new CaptureException("the " + step + " step took longer than " + STEP_TIMEOUT.toMinutes() + " minutes");
            }
            writer.join();
            errors.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new CaptureException("interrupted during the " + step + " step");
        }
        if (tooLarge) {
            throw new CaptureException("the " + step + " step's output is over " + (max >> 20) + " MiB");
        }
        if (p.exitValue() != 0) {
            String said = abbreviate(err.toString(StandardCharsets.UTF_8).strip());
            throw new CaptureException("the " + step + " step exited " + p.exitValue() + (said.isEmpty() ? "" : ": " + said));
        }
    }

    /** Keeps the last 4 KiB of a stream (a step's stderr, where git's "fatal:" comes last), draining the rest. */
    private static void keepTail(InputStream in, ByteArrayOutputStream into) {
        java.util.ArrayDeque<Byte> tail = new java.util.ArrayDeque<>();
        byte[] buf = new byte[4096];
        try (in) {
            for (int n; (n = in.read(buf)) > 0; ) {
                for (int i = 0; i < n; i++) {
                    if (tail.size() == 4096) {
                        tail.removeFirst();
                    }
                    tail.addLast(buf[i]);
                }
            }
        } catch (IOException e) {
            // the process ended
        }
        tail.forEach(into::write);
    }

    /** The sandbox's words, shortened and with control characters shown as '?', for a message. */
    static String abbreviate(String s) {
        String clean = s.codePoints().map(c -> c < 0x20 && c != '\n' || c == 0x7f ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString().replace('\n', ' ');
        return clean.length() > 300 ? clean.substring(0, 300) + "…" : clean;
    }
}
