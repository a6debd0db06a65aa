package dev.airlock.runtime;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * What of the caller's environment a sandboxed command sees: the terminal's description
 * ({@link #TERMINAL}: TERM, COLORTERM, LANG, LANGUAGE and every LC_*), the names the project's
 * policy lists ({@code env:} in airlock.yaml), and what {@code --env} gives. Nothing else: a token
 * in the caller's shell stays there unless it is named.
 */
public final class CallerEnvironment {

    /** Passed whenever the caller has them: without them full-screen programs draw badly or in the wrong charset. */
    public static final List<String> TERMINAL = List.of("TERM", "COLORTERM", "LANG", "LANGUAGE");
    /** A name that {@code --env NAME} and {@code env:} may take from the caller. */
    public static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private CallerEnvironment() {
    }

    /** A {@code --env} argument that is neither {@code NAME} nor {@code NAME=VALUE}. */
    public static final class BadOption extends Exception {
        BadOption(String message) {
            super(message);
        }
    }

    /**
     * The command's variables from the caller's {@code caller} environment: {@link #TERMINAL} and
     * LC_*, then {@code policyNames}, then {@code options} in order ({@code NAME=VALUE} sets,
     * {@code NAME} copies the caller's value when it has one). Later entries win.
     */
    public static Map<String, String> select(Map<String, String> caller, Collection<String> policyNames, List<String> options)
            throws BadOption {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : new TreeMap<>(caller).entrySet()) {
            if (TERMINAL.contains(e.getKey()) || e.getKey().startsWith("LC_") && NAME.matcher(e.getKey()).matches()) {
                out.put(e.getKey(), e.getValue());
            }
        }
        for (String n : policyNames) {
            if (caller.containsKey(n)) {
                out.put(n, caller.get(n));
            }
        }
        for (String o : options) {
            int eq = o.indexOf('=');
            if (eq > 0) {
                out.put(o.substring(0, eq), o.substring(eq + 1));
            } else if (eq < 0 && NAME.matcher(o).matches()) {
                if (caller.containsKey(o)) {
                    out.put(o, caller.get(o));
                }
            } else {
                throw new BadOption("--env " + o + ": write NAME (to pass the caller's value) or NAME=VALUE; a NAME is letters, digits"
                        + " and '_', not starting with a digit");
            }
        }
        return out;
    }
}
