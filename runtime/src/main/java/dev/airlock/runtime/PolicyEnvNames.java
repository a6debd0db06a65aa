package dev.airlock.runtime;

import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The {@code env:} list of a project policy, for a pooled run's client (which otherwise does not
 * parse the policy: the daemon has it). The file is parsed only when it has a top-level
 * {@code env:} key, so the common pooled run starts as fast as before.
 */
public final class PolicyEnvNames {

    private static final Pattern TOP_LEVEL_ENV = Pattern.compile("(?m)^env[ \\t]*:");

    private PolicyEnvNames() {
    }

    /** The names {@code policy} lists under {@code env:}; empty when it has none. */
    public static List<String> of(Path policy) throws PolicyException {
        String text = PolicyFiles.readText(policy);
        if (!TOP_LEVEL_ENV.matcher(text).find()) {
            return List.of();
        }
        return PolicyFiles.parseProject(policy.toString(), text).env();
    }
}
