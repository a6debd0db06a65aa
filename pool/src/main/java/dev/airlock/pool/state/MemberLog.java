package dev.airlock.pool.state;

import java.time.Instant;
import java.util.List;

/**
 * The daemon's record of the sandboxes it built, so that the next daemon after a {@code kill -9} knows
 * what the last one had. {@link StateDatabase} keeps it in {@code airlock.db}.
 */
public interface MemberLog {

    /** One sandbox the daemon built, and what it was doing when last written. */
    record Member(String id, String project, Instant created, String state) {
    }

    /** Records {@code id}, replacing what was recorded for it. */
    void put(String id, String project, Instant created, String state) throws StateDatabaseException;

    /** Changes the state of {@code id}; an unknown id changes nothing. */
    void state(String id, String state) throws StateDatabaseException;

    void remove(String id) throws StateDatabaseException;

    /** Every recorded member, oldest first. */
    List<Member> all() throws StateDatabaseException;

    /** Forgets every member (a daemon starting clean, or stopping cleanly). */
    void clear() throws StateDatabaseException;
}
