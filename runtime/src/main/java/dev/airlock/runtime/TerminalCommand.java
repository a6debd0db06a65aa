package dev.airlock.runtime;

import dev.airlock.sandbox.Pty;

/**
 * A command started on a terminal of its own: {@code process} gives its exit status (its pipes
 * carry nothing), {@code terminal} its input, its output and its window size.
 */
public record TerminalCommand(Process process, Pty terminal) {
}
