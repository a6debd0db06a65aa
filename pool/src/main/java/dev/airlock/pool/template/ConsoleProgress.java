package dev.airlock.pool.template;

import java.io.PrintWriter;

/** The two console renderings of {@link ProgressSink}. */
final class ConsoleProgress {

    /** Characters of the bar on a terminal. */
    private static final int WIDTH = 30;

    private ConsoleProgress() {
    }

    /** A terminal: each phase prints its line, and its progress is one line below it, redrawn with {@code \r}. */
    static final class Bar implements ProgressSink {
        private final PrintWriter out;
        private boolean open;

        Bar(PrintWriter out) {
            this.out = out;
        }

        @Override
        public synchronized void phase(String phase, String message) {
            end();
            out.println("airlock: " + message);
        }

        @Override
        public synchronized void transfer(String stage, int percent) {
            draw(String.format("%-18s", stage), percent);
        }

        @Override
        public synchronized void setupStep(int step, int steps, String command) {
            draw("setup " + step + "/" + steps, step * 100 / Math.max(1, steps + 1));
            out.print(" " + shorten(command));
            out.flush();
        }

        private void draw(String label, int percent) {
            int p = Math.max(0, Math.min(100, percent));
            int filled = p * WIDTH / 100;
            out.print("\r\033[K  " + label + " [" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] " + p + "%");
            out.flush();
            open = true;
        }

        @Override
        public synchronized void done(String message) {
            end();
            out.println("airlock: " + message);
        }

        private void end() {
            if (open) {
                out.println();
                open = false;
            }
        }
    }

    /** Not a terminal (a log, CI): whole lines only, and a transfer line only at each new 25%. */
    static final class Lines implements ProgressSink {
        private final PrintWriter out;
        private String stage = "";
        private int lastQuarter = -1;

        Lines(PrintWriter out) {
            this.out = out;
        }

        @Override
        public synchronized void phase(String phase, String message) {
            out.println("airlock: " + message);
        }

        @Override
        public synchronized void transfer(String s, int percent) {
            int quarter = percent / 25;
            if (!s.equals(stage) || quarter != lastQuarter) {
                stage = s;
                lastQuarter = quarter;
                out.println("airlock:   " + s + " " + percent + "%");
            }
        }

        @Override
        public synchronized void setupStep(int step, int steps, String command) {
            out.println("airlock: setup step " + step + "/" + steps + ": " + shorten(command));
        }

        @Override
        public synchronized void done(String message) {
            out.println("airlock: " + message);
        }
    }

    static String shorten(String command) {
        String one = command.replaceAll("\\s+", " ").strip();
        return one.length() <= 60 ? one : one.substring(0, 57) + "...";
    }
}
