package dev.airlock.policy;

/**
 * Why a connection was allowed or denied: the fixed vocabulary of the audit record's
 * {@code reason} field and the {@code reason} metric label. Documented in the README; only ever
 * extended, never renamed.
 */
public enum Reason {
    ALLOWED("allowed", "a rule allows this name or address on this port"),
    NO_RULE("no-rule", "no allow rule matches the name"),
    PORT_NOT_ALLOWED("port-not-allowed", "an allow rule matches the name, but not on this port"),
    DENY_RULE("deny-rule", "a project deny rule matches"),
    PRODUCTION("production", "the organisation's production set matches; it cannot be allowed"),
    PROTECTED_ADDRESS("protected-address", "the address is protected (loopback, link-local, metadata, private, ...) and no rule that may open it allows it"),
    HOST_ADDRESS("host-address", "this is the host's own address; only an exception in the organisation policy can open it"),
    IP_LITERAL("ip-literal", "an IP address was requested directly and no CIDR rule allows it, or it was not in canonical form"),
    SNI_MISMATCH("sni-mismatch", "the TLS server name differs from the name the connection was authorised for"),
    NO_SNI("no-sni", "a TLS connection without a server name"),
    NOT_TLS("not-tls", "bytes that are not TLS on a port that requires TLS"),
    HOST_MISMATCH("host-mismatch", "an HTTP request's Host header differs from the name the connection was authorised for"),
    HTTP2_CLEARTEXT("http2-cleartext", "HTTP/2 without TLS (prior knowledge or an h2c upgrade): Airlock cannot check each stream's authority, so it refuses"),
    DNS_FAILURE("dns-failure", "the name could not be resolved (failure, timeout, no address)"),
    LIMIT("limit", "a connection, tunnel or rate limit was reached"),
    BAD_REQUEST("bad-request", "the request or host name is malformed"),
    FAIL_CLOSED("fail-closed", "Airlock could not decide (for example, the audit log is failing), so it denied"),
    DIAL_REFUSED("dial-refused", "the address passed when the connection was decided but not when checked again right before"
            + " dialling (it became the host's own or a production address, or was never vetted), so it was not dialled");

    /** The exact string written to audit records and metric labels. */
    public final String code;
    public final String meaning;

    Reason(String code, String meaning) {
        this.code = code;
        this.meaning = meaning;
    }

    /** The reason with this audit code, if there is one (audit records are read back as text). */
    public static java.util.Optional<Reason> fromCode(String code) {
        for (Reason r : values()) {
            if (r.code.equals(code)) {
                return java.util.Optional.of(r);
            }
        }
        return java.util.Optional.empty();
    }

    @Override
    public String toString() {
        return code;
    }
}
