package dev.airlock.gateway.proxy;

import dev.airlock.gateway.peek.ClientHelloPeek;
import dev.airlock.gateway.peek.HttpHeadPeek;
import dev.airlock.policy.Printable;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.name.HostNames;
import java.util.Locale;
import java.util.Optional;

/**
 * What a connection was authorised for: a canonical name, or an address when a CIDR rule allowed
 * it, and a port. It holds the one check of what the client's bytes announce (a ClientHello's SNI,
 * a request's {@code Host}) against that target, used both before dialling (the transparent
 * listener's known web ports) and by the {@link ProtocolGate} on every tunnel, so the two can
 * never compare differently. Pure: no I/O, no state.
 */
record Authorised(Optional<String> name, Optional<IpAddress> address, int port) {

    /** Why the announced server is not this target: the audit reason and a detail for the log. */
    record Mismatch(Reason reason, String detail) {
    }

    /** {@code host} as the decision saw it: a canonical IP literal is an address, anything else a name. */
    static Authorised of(String host, int port) {
        if (IpLiterals.shape(unbracketed(host)) instanceof IpLiterals.Canonical c) {
            return new Authorised(Optional.empty(), Optional.of(c.address()), port);
        }
        return new Authorised(Optional.of(HostNames.canonicalOrEmpty(host).orElse(host.toLowerCase(Locale.ROOT))),
                Optional.empty(), port);
    }

    /** Whether a host as announced (SNI, {@code Host}) names exactly this target; names compare canonically. */
    boolean named(String announced) {
        if (address.isPresent()) {
            return IpLiterals.shape(unbracketed(announced)) instanceof IpLiterals.Canonical c && c.address().equals(address.get());
        }
        return HostNames.canonicalOrEmpty(announced).equals(name);
    }

    /**
     * A complete ClientHello: it must name exactly this target by SNI. A hello without SNI passes
     * only when an address was authorised (nothing names an address in SNI).
     */
    Optional<Mismatch> check(ClientHelloPeek.Hello h) {
        Optional<String> sni = h.soleName();
        if (sni.isEmpty() && h.rejectedNames().stream().anyMatch(x -> x.problem() == ClientHelloPeek.Problem.IP_LITERAL)) {
            return mismatch(Reason.IP_LITERAL, "the ClientHello names an IP address as its server; the tunnel is to " + this);
        }
        if (sni.isEmpty()) {
            return mismatch(Reason.SNI_MISMATCH, "the ClientHello names " + h.serverNames().size() + " acceptable and "
                    + h.rejectedNames().size() + " unacceptable servers; exactly the tunnel's host was expected: " + this);
        }
        if (!named(sni.get())) {
            return mismatch(Reason.SNI_MISMATCH, "the ClientHello names " + Printable.escape(sni.get()) + " but the tunnel is to " + this);
        }
        return Optional.empty();
    }

    /** A ClientHello with no server name extension at all. */
    Optional<Mismatch> checkNoSni() {
        return address.isPresent() ? Optional.empty()
                : mismatch(Reason.NO_SNI, "the ClientHello names no server; the tunnel is to " + this);
    }

    /** A request head ({@code n}th on its connection): its {@code Host} must name this host and port. */
    Optional<Mismatch> check(HttpHeadPeek.Request req, int n) {
        if (!named(req.authority().host()) || req.authority().port() != port) {
            return mismatch(Reason.HOST_MISMATCH, "request " + n + " on the connection names Host "
                    + Printable.escape(req.authority().toString()) + " but the tunnel is to " + this);
        }
        return Optional.empty();
    }

    private static Optional<Mismatch> mismatch(Reason reason, String detail) {
        return Optional.of(new Mismatch(reason, detail));
    }

    private static String unbracketed(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    @Override
    public String toString() {
        return name.orElseGet(() -> address.orElseThrow().toString()) + ":" + port;
    }
}
