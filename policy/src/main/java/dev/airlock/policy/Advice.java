package dev.airlock.policy;

import dev.airlock.policy.address.AddressClass;
import dev.airlock.policy.address.AddressClassifier;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import java.util.List;
import java.util.Optional;

/**
 * What to tell a user about a denial: the one place that composes advice, for every surface (the
 * run summary, the 403 body and its header, {@code policy explain}, the dashboard).
 *
 * <p>Design: advice must never propose a rule that the gates would refuse (DESIGN.md §1), or a
 * user who follows it opens what the boundary protects. So a rule is proposed only for a name, or
 * for an address of a class a project's {@code cidr:} rule may open; for everything else the advice
 * says why not and what to do instead, and does not name the address at all.
 */
public sealed interface Advice {

    /** YAML to add under {@code network.allow} in the project policy: a block, and its one-line flow form. */
    record AddRule(List<String> yaml, String flow) implements Advice {
        public AddRule {
            yaml = List.copyOf(yaml);
        }
    }

    /** No project rule can allow this: why not, and what to do instead. */
    record CannotAllow(String why, String instead) implements Advice {
    }

    /** Something to change other than adding a rule (a deny rule to narrow, a canonical form to write). */
    record Note(String text) implements Advice {
    }

    /** Nothing to advise (allowed, or a gateway condition such as a limit). */
    record Nothing() implements Advice {
    }

    String ASK_FOR_EXCEPTION = "if it is really needed, ask the security team for an entry under exceptions: "
            + "in the organisation policy (project, cidr, ports)";

    /**
     * The advice for a denial.
     *
     * @param address    the address that failed the address gate, when one did
     * @param rule       the deciding rule as text, when one decided
     * @param classifier what the address is, as the deciding engine sees it (its links and host
     *                   addresses); advice proposes a CIDR only for a class a project may open
     */
    static Advice of(Reason reason, String target, int port, Optional<IpAddress> address, Optional<String> rule,
            AddressClassifier classifier) {
        return switch (reason) {
            case ALLOWED -> new Nothing();
            case PRODUCTION -> new CannotAllow("it is in the organisation's production set",
                    "never: no sandbox reaches production, and no rule can change that");
            case HOST_ADDRESS -> new CannotAllow("this is the host's own address, which no project rule can open",
                    "a service on the host is not the sandbox's to reach; " + ASK_FOR_EXCEPTION);
            case DENY_RULE -> new Note(rule.map(r -> "remove or narrow the deny rule " + r).orElse("remove the deny rule"));
            case NO_RULE, PORT_NOT_ALLOWED -> nameRule(target, port, classifier);
            case PROTECTED_ADDRESS, IP_LITERAL -> address.or(() -> literal(target))
                    .map(a -> addressAdvice(a, port, classifier))
                    .orElse(new Note("write the address as a canonical dotted quad or RFC 5952 IPv6, and allow it with a cidr rule"));
            case SNI_MISMATCH, HOST_MISMATCH -> new Note("the bytes named another host than the one allowed (fronting or a host"
                    + " switch); a host that is really needed takes a rule of its own, never the front's");
            case NO_SNI, NOT_TLS -> new Note("the client sent no server name, or not TLS, where one was required");
            case HTTP2_CLEARTEXT -> new Note("HTTP/2 without TLS is refused (its hosts cannot be checked); use TLS or HTTP/1.1");
            case DNS_FAILURE -> new Note("the name did not resolve");
            // The record's rule names the limit ("limit: …", ConnectionAuthorizer.rule); say which one.
            case LIMIT -> new Note(rule.map(r -> "a gateway limit was reached: " + r.replaceFirst("^limit: ", ""))
                    .orElse("a gateway limit was reached"));
            case FAIL_CLOSED -> new Note("Airlock could not decide (the audit log failed), so it denied");
            case BAD_REQUEST -> new Note("the request or host name is malformed");
            case DIAL_REFUSED -> new Note("the address was refused when checked again right before dialling: it changed"
                    + " since the decision (the host's own or a production address now); a new connection is decided again");
        };
    }

    /** A name's rule; an address in the name's place is advised as an address. */
    private static Advice nameRule(String target, int port, AddressClassifier classifier) {
        Optional<IpAddress> literal = literal(target);
        if (literal.isPresent()) {
            return addressAdvice(literal.get(), port, classifier);
        }
        String entry = port == 80 || port == 443 || port == 0 ? target : target + ":" + port;
        return new AddRule(List.of("- " + entry), entry);
    }

    private static Advice addressAdvice(IpAddress a, int port, AddressClassifier classifier) {
        AddressClass cls = classifier.classify(a);
        return switch (cls) {
            case PUBLIC, PRIVATE, CGNAT, ULA -> {
                String cidr = a + "/" + a.family().bits;
                String ports = port > 0 ? "[" + port + "]" : "[443]";
                yield new AddRule(List.of("- cidr: " + cidr, "  ports: " + ports), "{cidr: " + cidr + ", ports: " + ports + "}");
            }
            case LOOPBACK, UNSPECIFIED, THIS_NETWORK -> new CannotAllow(
                    "loopback through the gateway is the host's loopback, which no project rule can open",
                    "a server the agent started is on the sandbox's own loopback, reached directly: set NO_PROXY and no_proxy "
                            + "to localhost,127.0.0.0/8,::1 so the client does not send it to the proxy");
            case METADATA -> new CannotAllow("a cloud metadata service hands out the host's credentials",
                    "never open it; give the agent the credentials it needs explicitly (--env)");
            case LINK_LOCAL -> new CannotAllow("link-local addresses belong to the host's own network segment (and cloud metadata)",
                    "no project rule can open them; " + ASK_FOR_EXCEPTION);
            case HOST_ADDRESS -> new CannotAllow("this is the host's own address, which no project rule can open",
                    "a service on the host is not the sandbox's to reach; " + ASK_FOR_EXCEPTION);
            case AIRLOCK_LINK -> new CannotAllow("an Airlock link address: the gateway and the other sandboxes",
                    "nothing can open it");
            default -> new CannotAllow(cls.description + ", which no project rule can open", ASK_FOR_EXCEPTION);
        };
    }

    private static Optional<IpAddress> literal(String target) {
        return IpLiterals.shape(target) instanceof IpLiterals.Canonical c ? Optional.of(c.address()) : Optional.empty();
    }

    /**
     * The advice as lines for a 403 body or {@code explain}: for a rule, where to add it and the YAML
     * indented under that; otherwise why not and what instead.
     */
    default List<String> lines(String policyFile) {
        return switch (this) {
            case AddRule r -> java.util.stream.Stream.concat(
                    java.util.stream.Stream.of("to allow it, add under network.allow in " + policyFile + ":"),
                    r.yaml().stream().map(l -> "  " + l)).toList();
            case CannotAllow c -> List.of("cannot be allowed: " + c.why(), "instead: " + c.instead());
            case Note n -> List.of(n.text());
            case Nothing ignored -> List.of();
        };
    }

    /** The advice on one line, for the run summary and the dashboard. */
    default String line(String policyFile) {
        return switch (this) {
            case AddRule r -> "add under network.allow in " + policyFile + ": - " + r.flow();
            case CannotAllow c -> "cannot be allowed: " + c.why() + "; instead: " + c.instead();
            case Note n -> n.text();
            case Nothing ignored -> "";
        };
    }
}
