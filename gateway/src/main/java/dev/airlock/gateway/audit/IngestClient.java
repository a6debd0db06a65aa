package dev.airlock.gateway.audit;

import java.io.IOException;
import java.util.List;

/** Where a forwarder sends a log's records: the daemon's ingest endpoint, or a test's fake. */
public interface IngestClient {

    /**
     * Sends {@code lines} (whole records, as written, in order) as {@code source}'s.
     *
     * @return the last of {@code source}'s records the daemon now holds (it skips those it already had)
     * @throws IOException when the daemon does not answer (unreachable, timed out): try again later
     * @throws Refused     when it answers and refuses the batch: said why; try again later, never skip
     */
    ChainHead send(String source, List<String> lines) throws IOException, Refused;

    /**
     * The daemon could not be trusted: its certificate is not signed by the CA this gateway trusts,
     * does not name the host dialled, or the handshake failed. Nothing was sent; the message says
     * why and how to fix it.
     */
    final class Untrusted extends IOException {
        public Untrusted(String why, Throwable cause) {
            super(why, cause);
        }
    }

    /** The daemon answered and refused: {@code status} is its HTTP status, the message its reason. */
    final class Refused extends Exception {
        private final int status;

        public Refused(int status, String why) {
            super(why);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }
}
