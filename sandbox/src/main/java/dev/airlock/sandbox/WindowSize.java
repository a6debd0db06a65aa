package dev.airlock.sandbox;

/** A terminal's size in character cells, as {@code struct winsize} and {@code stty size} give it. */
public record WindowSize(int rows, int cols) {

    /** When nothing says otherwise (a caller whose terminal would not tell its size). */
    public static final WindowSize DEFAULT = new WindowSize(24, 80);

    public WindowSize {
        if (rows < 1 || rows > 0xFFFF || cols < 1 || cols > 0xFFFF) {
            throw new IllegalArgumentException("a terminal size is 1..65535 rows and columns, not " + rows + "x" + cols);
        }
    }
}
