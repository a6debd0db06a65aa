package dev.airlock.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * The --file option of the log commands. Its default is the file {@code airlock gateway} writes
 * ({@link StateDirectory#auditLog()}), so that reading needs no option where writing needed none.
 */
final class LogFileOption {

    @Option(names = "--file", paramLabel = "FILE",
            description = "The audit log (default: $AIRLOCK_STATE/audit.log, else /var/lib/airlock/audit.log as root,"
                    + " else ~/.local/state/airlock/audit.log).")
    Path file;

    Path path() {
        return file != null ? file : StateDirectory.auditLog();
    }

    /** The log to read, or empty after saying on stderr why it cannot be read and how to fix that. */
    Optional<Path> readable(PrintWriter err) {
        Path p = path();
        String fix = file != null ? "check the path given to --file"
                : "pass --file FILE, or set AIRLOCK_STATE to the gateway's state directory";
        if (!Files.exists(p)) {
            err.println("airlock: audit log " + p + " does not exist; fix: " + fix);
            return Optional.empty();
        }
        if (Files.isDirectory(p)) {
            err.println("airlock: audit log " + p + " is a directory; fix: " + fix);
            return Optional.empty();
        }
        if (!Files.isReadable(p)) {
            err.println("airlock: cannot read audit log " + p + ": permission denied; fix: run as the user the gateway"
                    + " runs as (the log is mode 0600), or " + fix);
            return Optional.empty();
        }
        return Optional.of(p);
    }
}
