package dev.airlock.pool.template;

import java.io.PrintStream;
import java.io.PrintWriter;

/**
 * Where a template build reports how far it has come. {@link #console} draws a bar on a terminal
 * and prints plain lines otherwise; tests capture the calls.
 */
public interface ProgressSink {

    /** A new phase starts ("fetch", "checkout", "setup", "switch"), with a line for the reader. */
    void phase(String phase, String message);

    /** Clone or fetch progress, as git reports it: a stage ("Receiving objects") and its percentage. */
    void transfer(String stage, int percent);

    /** Setup step {@code step} of {@code steps} starts: {@code command}. */
    void setupStep(int step, int steps, String command);

    /** The build ended: {@code message} is the outcome. */
    void done(String message);

    /** Nothing reported. */
    ProgressSink NONE = new ProgressSink() {
        @Override
        public void phase(String phase, String message) {
        }

        @Override
        public void transfer(String stage, int percent) {
        }

        @Override
        public void setupStep(int step, int steps, String command) {
        }

        @Override
        public void done(String message) {
        }
    };

    /** On a terminal ({@code tty}), one line redrawn in place with a bar; otherwise plain lines. */
    static ProgressSink console(PrintStream out, boolean tty) {
        return console(new PrintWriter(out, true), tty);
    }

    /** As {@link #console(PrintStream, boolean)}, on a writer (flushed after every update). */
    static ProgressSink console(PrintWriter out, boolean tty) {
        return tty ? new ConsoleProgress.Bar(out) : new ConsoleProgress.Lines(out);
    }
}
