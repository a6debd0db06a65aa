package dev.airlock.audit.battery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BatteryTest {

    @TempDir
    Path dir;
    BatteryContext context;

    @BeforeEach
    void context() throws Exception {
        Path policy = Files.writeString(dir.resolve("airlock.yaml"), """
                version: 1
                project: payments
                network:
                  allow:
                    - github.com
                    - host: staging.acme.dev
                      ports: [443, 8443]
                    - cidr: 198.18.7.0/24
                      ports: [5432]
                """);
        Path org = Files.writeString(dir.resolve("org.yaml"), """
                version: 1
                production:
                  - api.acme.com
                  - "*.prod.acme.internal"
                  - cidr: 10.20.0.0/16
                  - cidr: 2001:db8:20::/48
                """);
        ProjectPolicy project = PolicyFiles.loadProject(policy);
        OrgPolicy o = PolicyFiles.loadOrg(org);
        Map<String, List<String>> dns = Map.of("api.acme.com", List.of("198.18.9.1", "198.18.9.2"), "db.prod.acme.internal",
                List.of("198.18.9.3"), "github.com", List.of("198.18.9.7"));
        context = new BatteryContext(project, o, AuditRunner.allowRules(project, o), List.of("db.prod.acme.internal", "github.com"),
                n -> dns.getOrDefault(n, List.of()), "100.96.0.1", "100.96.0.2", "100.96.0.5", "100.96.0.6", 40000, 40001, 3128,
                new LocalTarget.Tcp("100.96.0.1", 41000, "M"), new LocalTarget.Tcp("127.0.0.1", 41001, "M"),
                new LocalTarget.Udp("100.96.0.1", 41002, "M"),
                List.of(new BatteryContext.HiddenPath("state-dir", "Airlock's state", Path.of("/var/lib/air'lock"))), java.util.Optional.of(7070));
    }

    private Map<String, Probe> full() {
        return Battery.plan(context, Battery.Scope.FULL).stream().collect(Collectors.toMap(Probe::id, p -> p));
    }

    // ---- issue 11 §7: every deny probe says what makes its block count (docs/audit.md, "Evidence") -----

    /** The probes the gateway never sees and no host-side control covers: their block is reported inconclusive. */
    private static final Set<String> WITHOUT_EVIDENCE = Set.of("rogue-dns:8.8.8.8", "rogue-dns:198.18.0.53", "other-sandbox:dns",
            "udp:443:quic", "icmp:1.1.1.1");

    @Test
    void plan_everyBlockedProbe_hasAControlOrNamesTheGatewayRecordThatProvesIt_butTheListedFew() {
        List<String> without = Battery.plan(context, Battery.Scope.FULL).stream()
                .filter(p -> p.expect() == Expect.BLOCKED && p.control().isEmpty() && p.witness() instanceof Probe.NoWitness)
                .map(Probe::id).toList();
        assertThat(without).containsExactlyInAnyOrderElementsOf(WITHOUT_EVIDENCE);
    }

    @Test
    void plan_deniedTargetsNameTheConnectionTheGatewayRecords() {
        Map<String, Probe> p = full();
        assertThat(p.get("rfc1918-10:80:transparent").witness()).isEqualTo(Probe.Gate.of("10.0.0.1", 80));
        assertThat(p.get("rfc1918-10:proxy").witness()).isEqualTo(Probe.Gate.of("10.0.0.1", 80));
        assertThat(p.get("ula:proxy").witness()).isEqualTo(Probe.Gate.of("fd00::1", 80));
        assertThat(p.get("production:api.acme.com:443:transparent").witness()).isEqualTo(Probe.Gate.of("api.acme.com", 443));
        assertThat(p.get("dns-exfiltration:unknown-name").witness()).isEqualTo(Probe.Gate.of("not-allowed.exfil.invalid", 53));
        assertThat(p.get("sni-mismatch:allowed-sni-to-denied-address").witness())
                .isEqualTo(new Probe.Gate(Set.of("github.com", "10.20.0.1"), 443));
        assertThat(p.get("ipv6:addresses").witness()).isInstanceOf(Probe.Inside.class);
        assertThat(p.get("icmp:host").control()).contains(new LocalTarget.Echo("100.96.0.1"));
        // A probe with a control keeps it: the control, not a record, is what makes its block count.
        assertThat(p.get("host-service:listener").control()).isPresent();
    }

    @Test
    void plan_quickScope_hasEvidenceForAllButThePublicResolver() {
        List<String> without = Battery.plan(context, Battery.Scope.QUICK).stream()
                .filter(p -> p.expect() == Expect.BLOCKED && p.control().isEmpty() && p.witness() instanceof Probe.NoWitness)
                .map(Probe::id).toList();
        assertThat(without).containsExactly("rogue-dns:8.8.8.8");
    }

    @Test
    void check_echoControlOnLoopback_reachesWithTheSamePingTheProbeRuns() {
        // The host's own loopback always answers echo: the control of icmp:host runs exactly this from the host's namespace.
        ControlResult r = HostControls.check(new LocalTarget.Echo("127.0.0.1"));
        assertThat(r.reached()).as(r.detail()).isTrue();
        assertThat(r.description()).isEqualTo("ping 127.0.0.1 from the host's namespace");
        assertThat(r.detail()).startsWith("echo reply");
    }

    @Test
    void gateOf_urlAndAuthority_takeTheSchemesDefaultPortAndStripBrackets() {
        assertThat(Battery.gateOf("http://169.254.169.254/latest/meta-data/")).isEqualTo(Probe.Gate.of("169.254.169.254", 80));
        assertThat(Battery.gateOf("https://Api.Acme.com/")).isEqualTo(Probe.Gate.of("api.acme.com", 443));
        assertThat(Battery.gateOf("http://[::1]:41001/")).isEqualTo(Probe.Gate.of("::1", 41001));
        assertThat(Battery.gateOf("http://under_score.acme.dev/")).isEqualTo(Probe.Gate.of("under_score.acme.dev", 80));
        assertThat(Battery.gateOfAuthority("[::ffff:127.0.0.1]:41001")).isEqualTo(Probe.Gate.of("::ffff:127.0.0.1", 41001));
    }

    @Test
    void plan_whatTheSandboxLeavesForTheHost_gitAndAPlantedLink_eachWithAControlInTheWorkspace() {
        List<Probe> all = Battery.plan(context, Battery.Scope.FULL);
        List<String> ids = all.stream().map(Probe::id).toList();
        List<String> block = List.of("files:git-hook", "files:git-config", "files:planted-link");
        int first = ids.indexOf(block.get(0));
        assertThat(first).isNotNegative();
        assertThat(ids.subList(first, first + block.size())).as("one contiguous block").isEqualTo(block);
        Map<String, Probe> p = full();
        assertThat(p.get("files:git-hook").expect()).isEqualTo(Expect.COMMAND_FAILS);
        assertThat(p.get("files:git-hook").script()).contains("/workspace/.git/hooks/post-checkout");
        assertThat(p.get("files:git-config").script()).contains("config core.fsmonitor");
        assertThat(p.get("files:git-hook").control()).contains(new LocalTarget.WritableDir(".git/hooks"));
        assertThat(p.get("files:planted-link").expect()).isEqualTo(Expect.BLOCKED);
        assertThat(p.get("files:planted-link").script()).contains("ln -sfn ../../root-write/events.txt /workspace/out/events.jsonl");
        assertThat(p.get("files:planted-link").control()).contains(new LocalTarget.RootWrite("out/events.jsonl", "out/control.jsonl"));
        for (String id : block) {
            assertThat(p.get(id).category()).isEqualTo("files");
        }
    }

    @Test
    void plan_everyProductionNameIsProbedByNameAndByEachOfItsAddresses() {
        Map<String, Probe> p = full();
        assertThat(p).containsKeys("production:api.acme.com:443:transparent", "production:api.acme.com:80:transparent",
                "production:api.acme.com:proxy", "production:api.acme.com@198.18.9.1:443", "production:api.acme.com@198.18.9.2:80");
        assertThat(p.get("production:api.acme.com@198.18.9.2:80").script()).contains("tcp 198.18.9.2 80 http");
    }

    /** Issue 15 §2 / 18 (b): addresses no project can open, reached through names, each with its positive control. */
    @Test
    void plan_hostAndProductionAddresses_throughAllowedNames_withControls() throws Exception {
        Path policy = Files.writeString(dir.resolve("reach.yaml"), """
                version: 1
                project: payments
                network:
                  allow:
                    - host: hostsvc.test
                      ports: [41000]
                    - cdn.test
                    - github.com
                """);
        ProjectPolicy project = PolicyFiles.loadProject(policy);
        OrgPolicy o = context.org();
        Map<String, List<String>> dns = Map.of("api.acme.com", List.of("198.18.9.1"), "cdn.test", List.of("198.18.9.1"),
                "hostsvc.test", List.of("198.18.0.1"), "github.com", List.of("198.18.0.10"));
        BatteryContext c = new BatteryContext(project, o, AuditRunner.allowRules(project, o), List.of(), n -> dns.getOrDefault(n, List.of()),
                "100.96.0.1", "100.96.0.2", "100.96.0.5", "100.96.0.6", 40000, 40001, 3128, new LocalTarget.Tcp("100.96.0.1", 41000, "M"),
                new LocalTarget.Tcp("127.0.0.1", 41001, "M"), new LocalTarget.Udp("100.96.0.1", 41002, "M"), List.of(),
                java.util.Optional.empty(), List.of("100.96.0.1", "198.18.0.1"));
        Map<String, Probe> p = Battery.plan(c, Battery.Scope.FULL).stream().collect(Collectors.toMap(Probe::id, x -> x));
        assertThat(p.get("host-address:hostsvc.test@198.18.0.1:transparent")).satisfies(x -> {
            assertThat(x.expect()).isEqualTo(Expect.BLOCKED);
            assertThat(x.script()).contains("tcp hostsvc.test 41000 http");
            assertThat(x.control()).contains(new LocalTarget.Tcp("198.18.0.1", 41000, "M"));
        });
        assertThat(p.get("host-address:hostsvc.test@198.18.0.1:proxy").script()).contains("GET 'http://hostsvc.test:41000/'");
        assertThat(p.get("production-address:api.acme.com@198.18.9.1:80:ip").control()).contains(new LocalTarget.Tcp("198.18.9.1", 80, ""));
        assertThat(p.get("production-address:cdn.test@198.18.9.1:80:transparent")).satisfies(x -> {
            assertThat(x.script()).contains("tcp cdn.test 80 http");
            assertThat(x.control()).contains(new LocalTarget.Tcp("198.18.9.1", 80, ""));
        });
        assertThat(p).containsKey("production-address:cdn.test@198.18.9.1:80:proxy")
                .doesNotContainKey("host-address:github.com@198.18.0.10:transparent")
                .as("an allowed name answering a closed address is not expected to answer").doesNotContainKey("allowed:cdn.test:80")
                .containsKey("allowed:github.com:443");
    }

    @Test
    void plan_wildcardProductionEntry_usesTheNamesTheHostsMapKnows() {
        assertThat(full()).containsKeys("production:db.prod.acme.internal:443:transparent", "production:db.prod.acme.internal@198.18.9.3:443");
    }

    @Test
    void plan_productionCidrs_probeTheirFirstAndLastUsableAddresses() {
        assertThat(full()).containsKeys("production:10.20.0.1:443:transparent", "production:10.20.255.254:443:transparent",
                "production:2001:db8:20::1:80:transparent", "production:2001:db8:20:ffff:ffff:ffff:ffff:ffff:80:transparent");
    }

    @Test
    void representatives_smallRanges() {
        assertThat(Battery.representatives(Cidr.of("198.18.0.12/31"))).containsExactly("198.18.0.12", "198.18.0.13");
        assertThat(Battery.representatives(Cidr.of("198.18.0.12/32"))).containsExactly("198.18.0.12");
        assertThat(Battery.representatives(Cidr.of("10.0.0.0/30"))).containsExactly("10.0.0.1", "10.0.0.2");
    }

    @Test
    void plan_full_coversEveryCategory() {
        Set<String> categories = Battery.plan(context, Battery.Scope.FULL).stream().map(Probe::category).collect(Collectors.toSet());
        assertThat(categories).containsExactlyInAnyOrderElementsOf(Battery.CATEGORIES);
    }

    @Test
    void plan_localTargets_carryTheirPositiveControl() {
        Map<String, Probe> p = full();
        for (String id : List.of("host-service:listener", "loopback:proxy", "ip-literal:octal", "rogue-dns:host-udp", "files:state-dir")) {
            assertThat(p.get(id).control()).as(id).isPresent();
        }
        assertThat(p.get("ip-literal:octal").script()).contains("GET 'http://0177.0.0.1:41001/'");
    }

    @Test
    void plan_allowedEntries_expectReachabilityOnEachListedPort() {
        Map<String, Probe> p = full();
        assertThat(p.get("allowed:github.com:443").expect()).isEqualTo(Expect.REACHABLE);
        assertThat(p.get("allowed:github.com:80").script()).contains("tcp github.com 80 http");
        assertThat(p).containsKeys("allowed:staging.acme.dev:8443", "allowed:198.18.7.1:5432", "allowed:198.18.7.254:5432");
    }

    @Test
    void plan_unlistedPort_usesAPortTheRuleDoesNotList() {
        assertThat(full().get("unlisted-port:github.com").script()).contains("tcp github.com 8081");
    }

    @Test
    void plan_pathsAreShellQuoted() {
        assertThat(full().get("files:state-dir").script()).contains("visible '/var/lib/air'\\''lock'");
    }

    @Test
    void plan_isStableAndIdsAreUnique() {
        List<Probe> a = Battery.plan(context, Battery.Scope.FULL);
        assertThat(Battery.plan(context, Battery.Scope.FULL)).isEqualTo(a);
        Set<String> ids = new HashSet<>();
        a.forEach(p -> assertThat(ids.add(p.id())).as(p.id()).isTrue());
    }

    @Test
    void plan_tamperingComesLast() {
        List<Probe> a = Battery.plan(context, Battery.Scope.FULL);
        assertThat(a.get(a.size() - 1).category()).isEqualTo("tampering");
    }

    @Test
    void plan_quick_isASmallSubsetOfTheFullBattery() {
        List<Probe> quick = Battery.plan(context, Battery.Scope.QUICK);
        Set<String> fullIds = full().keySet();
        assertThat(quick).hasSizeLessThan(10).allSatisfy(p -> assertThat(fullIds).contains(p.id()));
        assertThat(quick.stream().map(Probe::category)).contains("production", "host-service", "protected-range", "rogue-dns", "tampering",
                "files");
    }

    @Test
    void probe_badId_isRefused() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Probe("Bad Id", "files", "t", Expect.BLOCKED, "x", "",
                java.util.Optional.empty())).hasMessageContaining("Bad Id");
    }

    @Test
    void hostNames_readsEveryNameOfAHostsMap() throws Exception {
        Path hosts = Files.writeString(dir.resolve("hosts"), "# comment\n198.18.0.10 git.demo.test Git.Alias # tail\n\n198.18.0.11 r.test\n");
        assertThat(AuditRunner.hostNames(hosts)).containsExactly("git.demo.test", "git.alias", "r.test");
    }

    @Test
    void policyLoad_failsWithPosition() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> PolicyFiles.loadProject(Files.writeString(dir.resolve("bad.yaml"), "version: 2\n")))
                .isInstanceOf(PolicyException.class);
    }
}
