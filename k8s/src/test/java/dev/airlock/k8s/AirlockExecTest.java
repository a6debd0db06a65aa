package dev.airlock.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The pod's stdin relay (packaging/exec/airlock-exec.c), run here as the agent container runs it,
 * fed by {@link FramedStdin} as the daemon feeds it: the bytes reach the command exactly, the end
 * frame is the command's end-of-file, its exit code and signals pass through, and garbage closes
 * the command's input instead of hanging it.
 */
class AirlockExecTest {

    private static final ExecutorService THREADS = Executors.newVirtualThreadPerTaskExecutor();
    private static Path relay;

    @TempDir
    Path dir;

    @BeforeAll
    static void build() throws Exception {
        relay = AirlockExecBinary.path();
    }

    /** What a stream gave so far, read to its end by a thread of its own. */
    private static final class Output {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final CompletableFuture<Void> done;

        Output(InputStream in) {
            done = CompletableFuture.runAsync(() -> {
                byte[] buf = new byte[65536];
                try (in) {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        synchronized (bytes) {
                            bytes.write(buf, 0, n);
                        }
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, THREADS);
        }

        byte[] all() throws Exception {
            done.get(30, TimeUnit.SECONDS);
            synchronized (bytes) {
                return bytes.toByteArray();
            }
        }

        /** Waits (up to 30 s, a hang guard) until the stream gave {@code text}. */
        void await(String text) throws InterruptedException {
            for (int i = 0; i < 3000; i++) {
                synchronized (bytes) {
                    if (bytes.toString(StandardCharsets.UTF_8).contains(text)) {
                        return;
                    }
                }
                Thread.sleep(10);
            }
            Assertions.fail("no \"" + text + "\" within 30 s");
        }
    }

    /** The relay with {@code args}; its stdin is the caller's to write. */
    private record Running(Process process, Output out, Output err) {

        FramedStdin frames() {
            return new FramedStdin(process.getOutputStream());
        }

        /**
         * Sends the end frame. A command that reads no input may end first, and the relay with it,
         * which closes the pipe under the write (EPIPE): that race is the command's exit, not an error.
         */
        void endInput() throws Exception {
            try {
                frames().end();
            } catch (java.io.IOException e) {
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    throw e;
                }
            }
        }

        int exit() throws Exception {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                Assertions.fail("the relay did not end within 30 s (a hang, not a timing claim)");
            }
            return process.exitValue();
        }

        String stdout() throws Exception {
            return new String(out.all(), StandardCharsets.UTF_8);
        }

        String stderr() throws Exception {
            return new String(err.all(), StandardCharsets.UTF_8);
        }
    }

    private Running start(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of(relay.toString()));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).directory(dir.toFile()).start();
        return new Running(p, new Output(p.getInputStream()), new Output(p.getErrorStream()));
    }

    @Test
    void endFrame_isTheCommandsEndOfFile_afterExactlyTheBytesSent() throws Exception {
        Running r = start("--", "cat");
        FramedStdin in = r.frames();
        in.write("x\n".getBytes(StandardCharsets.UTF_8));
        in.flush();
        // Control: the bytes arrived, and without the end frame cat still waits for more
        r.out().await("x\n");
        assertThat(r.process().isAlive()).as("no end of input yet: cat waits").isTrue();
        in.end();
        assertThat(r.exit()).isZero();
        assertThat(r.stdout()).isEqualTo("x\n");
        assertThat(r.stderr()).isEmpty();
    }

    @Test
    void lines_reachWcAndItCountsThem() throws Exception {
        Running r = start("--", "wc", "-l");
        try (OutputStream raw = r.process().getOutputStream()) {
            FramedStdin in = new FramedStdin(raw);
            in.write("a\nb\n".getBytes(StandardCharsets.UTF_8));
            in.end();
        }
        assertThat(r.exit()).isZero();
        assertThat(r.stdout().trim()).isEqualTo("2");
    }

    @Test
    void oneMebibyteOfEveryByteValue_arrivesByteExact_inManyFrames() throws Exception {
        byte[] data = new byte[1 << 20];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31 + (i >>> 8)); // every value 0-255, not in a repeating 256-byte run
        }
        Running r = start("--", "cat");
        Running count = start("--", "wc", "-c");
        for (Running each : List.of(r, count)) {
            FramedStdin in = each.frames();
            CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
                try {
                    for (int off = 0; off < data.length; off += 100_000) { // writes that straddle frames
                        in.write(data, off, Math.min(100_000, data.length - off));
                    }
                    in.end();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, THREADS);
            assertThat(each.exit()).isZero();
            writing.get(30, TimeUnit.SECONDS);
        }
        byte[] got = r.out().all();
        assertThat(sha256(got)).isEqualTo(sha256(data));
        assertThat(count.stdout().trim()).isEqualTo(Integer.toString(data.length));
    }

    @Test
    void bytesAfterTheEndFrame_neverReachTheCommand() throws Exception {
        Running r = start("--", "cat");
        OutputStream raw = r.process().getOutputStream();
        // one write, so the frame after the end frame is in the relay's input before it can have ended
        // (written later, it could meet the pipe of a relay that already exited: EPIPE, not a finding)
        byte[] before = frame("before");
        byte[] after = frame("after");
        raw.write(ByteBuffer.allocate(before.length + 4 + after.length).put(before).putInt(0).put(after).array());
        raw.flush();
        assertThat(r.exit()).isZero();
        assertThat(r.stdout()).isEqualTo("before");
        raw.close();
    }

    @Test
    void inputThatEndsWithoutAnEndFrame_endsTheCommandsInputToo() throws Exception {
        Running r = start("--", "cat");
        try (OutputStream raw = r.process().getOutputStream()) {
            raw.write(frame("no end frame"));
        }
        assertThat(r.exit()).isZero();
        assertThat(r.stdout()).isEqualTo("no end frame");
    }

    @Test
    void malformedFrame_closesTheCommandsInput_saysSo_andTheCommandGoesOn() throws Exception {
        Running r = start("--", "sh", "-c", "cat; echo after-eof");
        OutputStream raw = r.process().getOutputStream();
        raw.write(frame("good "));
        raw.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 'j', 'u', 'n', 'k'});
        raw.flush(); // stdin stays open: the garbage alone must end the command's input
        assertThat(r.exit()).isZero();
        assertThat(r.stdout()).isEqualTo("good after-eof\n");
        assertThat(r.stderr()).contains("airlock-exec: a malformed input frame (length 4294967295 is over 1048576)")
                .contains("stdin is closed");
        raw.close();
    }

    @Test
    void inputEndingInsideAFrame_closesTheCommandsInput_andSaysSo() throws Exception {
        Running r = start("--", "cat");
        try (OutputStream raw = r.process().getOutputStream()) {
            raw.write(new byte[] {0, 0, 0, 10, 'a', 'b', 'c'});
        }
        assertThat(r.exit()).isZero();
        assertThat(r.stderr()).contains("the input ended inside a frame; the command's stdin is closed");
    }

    @Test
    void exitCode_isTheCommands_andVariablesReachIt() throws Exception {
        Running r = start("GREETING=hello there", "--", "sh", "-c", "echo \"$GREETING\"; exit 7");
        r.endInput();
        assertThat(r.exit()).isEqualTo(7);
        assertThat(r.stdout()).isEqualTo("hello there\n");
    }

    @Test
    void missingCommand_is127_andNotExecutable126_withTheLocalSandboxsMessages() throws Exception {
        Running missing = start("PATH=/usr/bin:/bin", "--", "no-such-command-alk");
        missing.endInput();
        assertThat(missing.exit()).isEqualTo(127);
        assertThat(missing.stderr()).isEqualTo("airlock: no-such-command-alk: command not found in the pod (PATH /usr/bin:/bin)\n");

        Path plain = Files.writeString(dir.resolve("not-executable"), "#!/bin/sh\necho ran\n");
        Running notRunnable = start("--", plain.toString());
        notRunnable.endInput();
        assertThat(notRunnable.exit()).isEqualTo(126);
        assertThat(notRunnable.stderr()).startsWith("airlock: " + plain + ": not executable");
        assertThat(notRunnable.stdout()).isEmpty();
    }

    @Test
    void commandKilledByASignal_is128PlusIt() throws Exception {
        Running r = start("--", "sh", "-c", "kill -KILL $$");
        r.endInput();
        assertThat(r.exit()).isEqualTo(128 + 9);
    }

    @ParameterizedTest
    @ValueSource(strings = {"TERM", "INT", "HUP"})
    void signalToTheRelay_isForwardedToTheCommand(String signal) throws Exception {
        // the command traps the signal and says so: only a forwarded signal can make it exit 9
        Running r = start("--", "sh", "-c", "trap 'echo got-" + signal + "; exit 9' " + signal + "; echo ready; while :; do sleep 0.05; done");
        r.out().await("ready\n");
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(r.process().pid())).start();
        assertThat(kill.waitFor()).isZero();
        assertThat(r.exit()).isEqualTo(9);
        assertThat(r.stdout()).isEqualTo("ready\ngot-" + signal + "\n");
    }

    @Test
    void usageErrors_are125() throws Exception {
        Running noCommand = start("--");
        assertThat(noCommand.exit()).isEqualTo(125);
        assertThat(noCommand.stderr()).contains("usage: airlock-exec");
        Running notAVariable = start("cat");
        assertThat(notAVariable.exit()).isEqualTo(125);
        assertThat(notAVariable.stderr()).contains("not a NAME=VALUE: cat");
    }

    @Test
    void build_isStatic_soAnyAgentImageRunsIt() throws Exception {
        byte[] elf = Files.readAllBytes(relay);
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(elf[0] == 0x7f && elf[1] == 'E' && elf[2] == 'L' && elf[3] == 'F').isTrue();
        long phoff = b.getLong(0x20);
        int phentsize = Short.toUnsignedInt(b.getShort(0x36));
        int phnum = Short.toUnsignedInt(b.getShort(0x38));
        List<Integer> types = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            types.add(b.getInt((int) (phoff + (long) i * phentsize)));
        }
        int ptLoad = 1;
        int ptInterp = 3;
        assertThat(types).as("program headers").contains(ptLoad).doesNotContain(ptInterp);
    }

    private static byte[] frame(String payload) {
        byte[] p = payload.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(4 + p.length).putInt(p.length).put(p).array();
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }
}
