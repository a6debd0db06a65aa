package dev.airlock.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.airlock.runtime.RunAs;
import java.util.Optional;

/**
 * A run request's {@code "sudoUid"} and {@code "sudoGid"}: who the caller's own cold run would
 * have run as (its SUDO_UID and SUDO_GID), and so who the daemon's run of a policy it does not pool
 * runs as. The caller is root ({@link CallerCheck}), so it may name any user but root; none named
 * is nobody, as a cold run without SUDO_UID.
 */
final class SudoCallerField {

    static final String UID = "sudoUid";
    static final String GID = "sudoGid";

    private SudoCallerField() {
    }

    /** Adds {@code caller}'s fields to {@code req} (nothing when empty). */
    static void put(ObjectNode req, Optional<RunAs> caller) {
        caller.ifPresent(c -> req.put(UID, c.uid()).put(GID, c.gid()));
    }

    /** Who the run of {@code req} runs as; a request naming uid or gid 0, or not a whole number in range, is refused. */
    static RunAs parse(JsonNode req) throws ApiHandler.BadRequest {
        if (!req.has(UID) && !req.has(GID)) {
            return RunAs.nobody();
        }
        if (!req.has(UID) || !req.has(GID)) {
            throw new ApiHandler.BadRequest("\"" + UID + "\" and \"" + GID + "\" come together (the caller's SUDO_UID and SUDO_GID), not one"
                    + " alone. Fix: send both, or neither to run as nobody.");
        }
        return new RunAs(id(req, UID), id(req, GID));
    }

    private static int id(JsonNode req, String field) throws ApiHandler.BadRequest {
        JsonNode v = req.get(field);
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 1 || v.asLong() > Integer.MAX_VALUE) {
            throw new ApiHandler.BadRequest("\"" + field + "\" must be a whole number from 1 to " + Integer.MAX_VALUE + ", not " + v
                    + (v.isIntegralNumber() && v.asLong() == 0 ? ": a sandbox never runs as root" : "")
                    + ". Fix: send the caller's SUDO_UID and SUDO_GID, or neither to run as nobody.");
        }
        return (int) v.asLong();
    }
}
