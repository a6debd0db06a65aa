package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import org.junit.jupiter.api.Test;

class RulesetsTest {

    private static final IpAddress HOST = Cidr.of("100.96.0.5").network();
    private static final IpAddress SANDBOX = Cidr.of("100.96.0.6").network();
    private static final GatewayPorts PORTS = new GatewayPorts(15001, 15053);

    @Test
    void host_goldenText() {
        assertThat(Rulesets.host("alk_0123abcd", "alk0123abcdh", HOST, PORTS)).isEqualTo("""
                table inet alk_0123abcd {
                	chain prerouting {
                		type filter hook prerouting priority mangle; policy accept;
                		iifname "alk0123abcdh" ip daddr 100.96.0.5 udp dport 53 accept
                		iifname "alk0123abcdh" ip daddr 100.96.0.5 tcp dport 53 accept
                		iifname "alk0123abcdh" meta nfproto ipv4 meta l4proto tcp tproxy ip to :15001 meta mark set 0x414c0000 accept
                		iifname "alk0123abcdh" drop
                	}
                	chain dns {
                		type nat hook prerouting priority dstnat; policy accept;
                		iifname "alk0123abcdh" ip daddr 100.96.0.5 udp dport 53 redirect to :15053
                		iifname "alk0123abcdh" ip daddr 100.96.0.5 tcp dport 53 redirect to :15053
                	}
                	chain input {
                		type filter hook input priority filter; policy accept;
                		iifname "alk0123abcdh" meta nfproto ipv4 meta l4proto tcp meta mark 0x414c0000 accept
                		iifname "alk0123abcdh" ip daddr 100.96.0.5 udp dport 15053 ct status dnat accept
                		iifname "alk0123abcdh" ip daddr 100.96.0.5 tcp dport 15053 ct status dnat accept
                		iifname "alk0123abcdh" drop
                	}
                	chain forward {
                		type filter hook forward priority filter; policy accept;
                		iifname "alk0123abcdh" drop
                		oifname "alk0123abcdh" drop
                	}
                }
                """);
    }

    @Test
    void host_everyChainEndsInADropForTheLink_soNothingUnlistedPasses() {
        String text = Rulesets.host("alk_0123abcd", "alk0123abcdh", HOST, PORTS);
        for (String chain : new String[] {"prerouting", "input"}) {
            String body = text.substring(text.indexOf("chain " + chain), text.indexOf("}", text.indexOf("chain " + chain)));
            assertThat(body.strip().lines().reduce((a, b) -> b).orElseThrow().strip()).isEqualTo("iifname \"alk0123abcdh\" drop");
        }
        // UDP, ICMP and IPv6 have no accept rule of their own; only port 53 to the host address does.
        assertThat(text.lines().filter(l -> l.contains(" accept") && l.contains("udp")).toList())
                .allMatch(l -> l.contains("ip daddr 100.96.0.5") && (l.contains("dport 53 ") || l.contains("dport 15053 ")));
        assertThat(text).doesNotContain("ip6", "icmp");
    }

    @Test
    void host_isAcceptedByThePrivilegedCheck() throws SandboxException {
        KernelAuthorizer.onlyTable("alk_0123abcd", Rulesets.host("alk_0123abcd", "alk0123abcdh", HOST, PORTS), null);
        KernelAuthorizer.onlyTable("alk_0123abcd", Rulesets.sandbox("alk_0123abcd", "alk0123abcds", HOST, SANDBOX), null);
    }

    @Test
    void sandbox_goldenText() {
        assertThat(Rulesets.sandbox("alk_0123abcd", "alk0123abcds", HOST, SANDBOX)).isEqualTo("""
                table inet alk_0123abcd {
                	chain output {
                		type filter hook output priority filter; policy drop;
                		meta nfproto ipv6 drop
                		oifname "lo" accept
                		oifname "alk0123abcds" ip saddr 100.96.0.6 meta l4proto tcp accept
                		oifname "alk0123abcds" ip saddr 100.96.0.6 ip daddr 100.96.0.5 udp dport 53 accept
                	}
                	chain input {
                		type filter hook input priority filter; policy drop;
                		meta nfproto ipv6 drop
                		iifname "lo" accept
                		iifname "alk0123abcds" ct state established,related accept
                	}
                	chain forward {
                		type filter hook forward priority filter; policy drop;
                	}
                }
                """);
    }
}
