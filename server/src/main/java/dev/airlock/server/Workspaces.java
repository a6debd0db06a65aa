package dev.airlock.server;

import dev.airlock.sandbox.LinkSafeFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/** Removal of a member's workspace directory, which the sandbox user filled. */
final class Workspaces {

    private Workspaces() {
    }

    /**
     * Deletes {@code dir} and everything in it without following links (a sandbox could have
     * planted one pointing anywhere on the host) or crossing a mount ({@link LinkSafeFiles#deleteTree}).
     * Only directories named {@code w-*} are removed.
     */
    static void delete(Path dir) {
        if (!dir.getFileName().toString().startsWith("w-") || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            LinkSafeFiles.deleteTree(dir);
        } catch (IOException e) {
            System.err.println("airlock daemon: cannot remove workspace " + dir + ": " + e.getMessage());
        }
    }
}
