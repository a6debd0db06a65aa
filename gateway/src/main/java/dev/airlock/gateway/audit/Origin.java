package dev.airlock.gateway.audit;

/**
 * Where a forwarded record came from: another writer's own chain (a gateway pod on Kubernetes),
 * whose record the daemon appended to its chain. The daemon keeps {@code seq} and {@code hash} of
 * that chain beside its own, so a record can be matched with the line in the pod's file, and so
 * the daemon knows after a restart which of a source's records it already holds (de-duplication).
 *
 * @param source the writer, as it named itself (the gateway pod's name); printable ASCII
 * @param seq    the record's seq in the source's chain
 * @param hash   the record's hash in the source's chain
 */
public record Origin(String source, long seq, String hash) {

    public Origin {
        if (source == null || source.isEmpty() || !source.equals(dev.airlock.policy.Printable.escape(source))) {
            throw new IllegalArgumentException("source must be printable ASCII and not empty: " + source);
        }
        if (seq < 1) {
            throw new IllegalArgumentException("source seq must be at least 1: " + seq);
        }
        if (!ChainHead.isHash(hash)) {
            throw new IllegalArgumentException("source hash must be 64 lower-case hex digits");
        }
    }

    /** The record as the end of the source's chain. */
    public ChainHead head() {
        return new ChainHead(seq, hash);
    }
}
