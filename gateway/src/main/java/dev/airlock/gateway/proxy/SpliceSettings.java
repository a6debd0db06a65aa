package dev.airlock.gateway.proxy;

import java.io.IOException;

/**
 * How a relay pair is spliced: after how many bytes it leaves the copy relay ({@link
 * SpliceHandover#OFF}: never), and how large a pipe each direction asks for.
 *
 * @param afterBytes bytes a tunnel moves on the copy relay first, or {@link SpliceHandover#OFF}
 * @param pipeBytes the capacity asked for each direction's pipe; {@link SplicePipe#DEFAULT_CAPACITY}
 *     or less keeps the kernel's default
 * @param sizing resizes the pipes; a refusal keeps the default capacity
 */
record SpliceSettings(long afterBytes, int pipeBytes, PipeSizing sizing) {

    /**
     * 1 MiB, Linux's default {@code /proc/sys/fs/pipe-max-size}: a fill moves up to 16 times what
     * a default pipe takes, so a bulk tunnel costs fewer splice calls and fewer wake-ups per MiB
     * (docs/BENCHMARKS.md, branch relay13c). A pipe holds only page references the socket held
     * before, and holds them only while the receiver is slower than the sender.
     */
    static final int DEFAULT_PIPE_BYTES = 1 << 20;

    static final SpliceSettings OFF = new SpliceSettings(SpliceHandover.OFF, SplicePipe.DEFAULT_CAPACITY, PipeSizing.none());

    /** Splicing after {@code afterBytes}, through pipes of the default size. */
    static SpliceSettings after(long afterBytes) {
        return new SpliceSettings(afterBytes, DEFAULT_PIPE_BYTES, PipeSizing.kernel());
    }

    boolean on() {
        return afterBytes >= 0;
    }

    /** One direction's pipe, as large as the kernel grants. */
    SplicePipe openPipe() throws IOException {
        return SplicePipe.open(sizing, pipeBytes);
    }
}
