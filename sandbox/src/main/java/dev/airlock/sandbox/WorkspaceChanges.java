package dev.airlock.sandbox;

import java.util.List;

/**
 * What a sandbox wrote in its copy-on-write workspace, read from its overlay's upper directory:
 * the names outside {@code .git} (files, links, removals), and whether it wrote where git keeps
 * where HEAD points ({@code .git/HEAD}, {@code .git/refs}, {@code .git/packed-refs},
 * {@code .git/reftable}, or {@code .git} itself replaced). Neither: no commit and no change, so
 * export has nothing to ask the sandbox.
 */
public record WorkspaceChanges(List<String> names, boolean refsTouched) {
    public WorkspaceChanges {
        names = List.copyOf(names);
    }

    /** Nothing written outside .git, and no ref moved: there can be no new commit and no change. */
    public boolean untouched() {
        return names.isEmpty() && !refsTouched;
    }
}
