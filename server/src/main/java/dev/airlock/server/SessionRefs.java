package dev.airlock.server;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Session names, and how a user's reference finds a session, as {@code docker} does: the exact id,
 * else the exact name, else the one id that starts with it. An unknown or ambiguous reference is
 * an error that says what to do.
 */
final class SessionRefs {

    /** A claimed session as the reference is matched against it. */
    public record Session(String id, Optional<String> name) {
    }

    /** Lower-case, a letter or digit first; never shaped like an id, so that a name and an id prefix cannot be confused. */
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,39}");
    private static final Pattern ID_LIKE = Pattern.compile("alk[0-9a-f]*");

    private SessionRefs() {
    }

    /** Why {@code name} cannot name a session, or empty when it can. */
    public static Optional<String> nameProblem(String name) {
        if (!NAME.matcher(name).matches()) {
            return Optional.of("session name '" + name + "' is not valid. Fix: 1 to 40 of a-z, 0-9, '.', '_', '-', starting with a letter or digit.");
        }
        if (ID_LIKE.matcher(name).matches()) {
            return Optional.of("session name '" + name + "' looks like a sandbox id. Fix: choose a name that does not start with 'alk' and hex digits only.");
        }
        return Optional.empty();
    }

    /** The id of the session {@code ref} names among {@code sessions}. */
    public static String resolve(String ref, List<Session> sessions) throws DaemonException {
        for (Session s : sessions) {
            if (s.id().equals(ref)) {
                return s.id();
            }
        }
        for (Session s : sessions) {
            if (s.name().filter(ref::equals).isPresent()) {
                return s.id();
            }
        }
        List<String> byPrefix = ref.isEmpty() ? List.of() : sessions.stream().map(Session::id).filter(id -> id.startsWith(ref)).sorted().toList();
        if (byPrefix.size() == 1) {
            return byPrefix.get(0);
        }
        if (byPrefix.isEmpty()) {
            throw new DaemonException("no session " + ref + "; see `airlock sandbox list`");
        }
        throw new DaemonException("session " + ref + " is ambiguous: it starts " + String.join(", ", byPrefix)
                + ". Fix: give more of the id, or the session's name (see `airlock sandbox list`).");
    }
}
