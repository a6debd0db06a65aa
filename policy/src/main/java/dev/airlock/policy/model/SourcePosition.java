package dev.airlock.policy.model;

/** Where something was written: {@code file:line:col}, both 1-based. */
public record SourcePosition(String file, int line, int column) {

    public static SourcePosition of(String file) {
        return new SourcePosition(file, 0, 0);
    }

    @Override
    public String toString() {
        return line <= 0 ? file : file + ":" + line + ":" + column;
    }
}
