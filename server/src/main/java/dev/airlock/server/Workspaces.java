package dev.airlock.server;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Removal of a member's workspace directory, which the sandbox user filled. */
final class Workspaces {

    private Workspaces() {
    }

    /**
     * Deletes {@code dir} and everything in it without following symbolic links (a sandbox could
     * have planted one pointing anywhere on the host). Only directories named {@code w-*} are removed.
     */
    static void delete(Path dir) {
        if (!dir.getFileName().toString().startsWith("w-") || !Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                    Files.delete(f);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.delete(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.err.println("airlock daemon: cannot remove workspace " + dir + ": " + e.getMessage());
        }
    }
}
