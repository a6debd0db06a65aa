package dev.airlock.sandbox;

import java.util.List;

/**
 * What {@link SandboxLauncher#reap()} did: the sandboxes it tore down (their ids), every object it
 * removed, and whatever it could not remove (the next reap tries again).
 */
public record ReapReport(List<String> sandboxes, List<String> removed, List<String> failures) {

    public ReapReport {
        sandboxes = List.copyOf(sandboxes);
        removed = List.copyOf(removed);
        failures = List.copyOf(failures);
    }

    public boolean clean() {
        return failures.isEmpty();
    }
}
