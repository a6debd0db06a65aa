package dev.airlock.sandbox;

import java.io.IOException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Forks every process the sandbox module starts, from one platform thread that lives as long as
 * the JVM.
 *
 * <p>Why: a sandbox dies with its owner through the kernel's parent-death signal (bubblewrap's
 * {@code --die-with-parent}, {@code setpriv --pdeathsig KILL}). Linux sends that signal when the
 * <em>thread</em> that forked the child exits, not when its process does (prctl(2)). A sandbox
 * forked from a pool worker, a virtual thread's carrier (which ends after 30 s idle) or any other
 * short-lived thread was killed when that thread ended: warm members died after ~30 s of idleness
 * (issue 17). This thread never returns, so the signal fires exactly when the process dies
 * ({@code kill -9} included, since all of its threads end with it): the daemon's death still takes
 * its sandboxes with it, and nothing else does.
 */
final class Spawner {

    private record Request(ProcessBuilder builder, CompletableFuture<Process> started) {
    }

    private static final BlockingQueue<Request> QUEUE = new LinkedBlockingQueue<>();
    private static final Thread THREAD = Thread.ofPlatform().daemon().name("airlock-spawner").unstarted(Spawner::serve);

    static {
        THREAD.start();
    }

    private Spawner() {
    }

    /**
     * Starts {@code pb} on the spawner thread and returns its process. Waits without giving up on
     * an interrupt: the process may already be forked, and must not be lost to its caller.
     */
    static Process start(ProcessBuilder pb) throws IOException {
        if (Thread.currentThread() == THREAD) {
            return pb.start();
        }
        CompletableFuture<Process> started = new CompletableFuture<>();
        QUEUE.add(new Request(pb, started));
        try {
            return started.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(e.getCause());
        }
    }

    /** The thread that forked every process {@link #start} returned (tests check the parent thread's lifetime against it). */
    static Thread thread() {
        return THREAD;
    }

    private static void serve() {
        while (true) {
            Request r;
            try {
                r = QUEUE.take();
            } catch (InterruptedException e) {
                continue; // this thread must never end: every sandbox it forked would die with it
            }
            try {
                r.started().complete(r.builder().start());
            } catch (Throwable t) {
                r.started().completeExceptionally(t);
            }
        }
    }
}
