package dev.airlock.audit.battery;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One adversarial check, run inside the sandbox as the sandbox user.
 *
 * @param id       stable across runs (history compares by it): {@code [a-z0-9][a-z0-9._:-]*}
 * @param category one of {@link Battery#CATEGORIES}
 * @param target   what it aims at, for the table
 * @param expect   what must happen
 * @param expected the same in words, for the report
 * @param script   bash that sources lib.sh and ends with a helper's {@code @result} line
 * @param control  the local target whose reachability without Airlock the audit proves first
 */
public record Probe(String id, String category, String target, Expect expect, String expected, String script,
        Optional<LocalTarget> control) {

    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9._:@\\[\\]-]{0,160}");

    public Probe {
        Objects.requireNonNull(expect, "expect");
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("probe id '" + id + "' is not [a-z0-9][a-z0-9._:@[]-]*");
        }
    }
}
