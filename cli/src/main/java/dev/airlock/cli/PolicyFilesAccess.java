package dev.airlock.cli;

import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import java.nio.file.Path;

/** Reads a policy file with the loader's own checks (size, UTF-8, existence). */
final class PolicyFilesAccess {

    private PolicyFilesAccess() {
    }

    static String read(Path file) throws PolicyException {
        return PolicyFiles.readText(file);
    }
}
