package dev.airlock.policy.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.airlock.policy.model.Destination;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.PortSet;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.Rule;
import dev.airlock.policy.model.SourcePosition;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The loader of DESIGN.md §2. Every refusal is a {@link Problem} that prints as
 * {@code file:line:col: message; fix: ...}, names the offending value and says how to fix it, and
 * every problem in a file is reported at once.
 */
class PolicyFilesTest {

    private static final Path EXAMPLES = Path.of("..", "examples");

    /** A project whose only allow entry is {@code entry}, written on line 5 at column 7. */
    private static String withAllow(String entry) {
        return """
                version: 1
                project: demo
                network:
                  allow:
                    - %s
                """.formatted(entry);
    }

    private static List<Problem> projectProblems(String yaml) {
        try {
            PolicyFiles.parseProject("airlock.yaml", yaml);
        } catch (PolicyException e) {
            assertThat(e.problems()).isNotEmpty();
            assertThat(e.getMessage()).isEqualTo(String.join("\n", e.problems().stream().map(Problem::toString).toList()));
            return e.problems();
        }
        throw new AssertionError("expected the loader to refuse:\n" + yaml);
    }

    private static List<Problem> orgProblems(String yaml) {
        try {
            PolicyFiles.parseOrg("org.yaml", yaml);
        } catch (PolicyException e) {
            return e.problems();
        }
        throw new AssertionError("expected the loader to refuse:\n" + yaml);
    }

    private static Problem onlyProblem(List<Problem> problems) {
        assertThat(problems).hasSize(1);
        return problems.get(0);
    }

    // ---- the shipped examples ---------------------------------------------------------------------

    @Test
    void loadProject_shippedExample_loads() throws Exception {
        ProjectPolicy p = PolicyFiles.loadProject(EXAMPLES.resolve("airlock.yaml"));
        assertThat(p.project()).isEqualTo("payments");
        assertThat(p.presets()).extracting(ProjectPolicy.PresetRef::name).containsExactly("github", "npm");
        assertThat(p.allow()).extracting(Rule::describe).containsExactly(
                "*.githubusercontent.com:80,443", "ssh.github.com:22", "staging.acme.dev:443,8443", "198.18.7.0/24:5432");
        assertThat(p.deny()).extracting(Rule::describe).containsExactly("*.internal.acme.dev", "203.0.113.0/24");
        assertThat(p.setupAllow()).extracting(Rule::describe).containsExactly("registry.npmjs.org:80,443");
        assertThat(p.workspace()).hasValueSatisfying(w -> {
            assertThat(w.source()).isEqualTo("https://git.acme.dev/acme/payments.git");
            assertThat(w.ref()).isEqualTo("main");
            assertThat(w.setup()).containsExactly("npm ci");
            assertThat(w.cacheKey()).containsExactly("package-lock.json");
        });
        assertThat(p.resources()).isEqualTo(new ProjectPolicy.Resources(4L << 30, 2.0, 2048));
        assertThat(p.pool()).isEqualTo(new ProjectPolicy.PoolSettings(0, 10, 0.95));
    }

    @Test
    void parseProject_resourcesTunnels_isTheGatewaysUnlessSetAndRefusedOutOfRangeAtItsPosition() throws Exception {
        assertThat(PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\n").resources().tunnels()).isEmpty();
        assertThat(PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nresources:\n  tunnels: 64\n").resources().tunnels())
                .hasValue(64);
        assertThat(PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nresources:\n  tunnels: 64\n").resources().cgroup())
                .as("a tunnel limit alone leaves the cgroup as it is (a reload need not rebuild sandboxes)")
                .isEqualTo(ProjectPolicy.Resources.DEFAULT);
        assertThat(projectProblems("version: 1\nproject: p\nresources:\n  tunnels: 0\n")).singleElement().satisfies(p -> {
            assertThat(p.position()).hasToString("airlock.yaml:4:12");
            assertThat(p.toString()).contains("invalid tunnels \"0\"").contains("from 1 to 1000000");
        });
    }

    @Test
    void parseProject_writableGitConfig_isFalseByDefaultAndAnOptOutOnItsOwn() throws Exception {
        ProjectPolicy byDefault = PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\n");
        assertThat(byDefault.writableGitConfig()).isFalse();
        ProjectPolicy optedOut = PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nworkspace:\n  writableGitConfig: true\n");
        assertThat(optedOut.writableGitConfig()).isTrue();
        assertThat(optedOut.workspace()).as("the opt-out alone describes no template").isEmpty();
        ProjectPolicy withTemplate = PolicyFiles.parseProject("a.yaml",
                "version: 1\nproject: p\nworkspace:\n  source: x\n  writableGitConfig: true\n");
        assertThat(withTemplate.workspace()).isPresent();
        assertThat(withTemplate.writableGitConfig()).isTrue();
    }

    @Test
    void parseProject_writableGitConfigNotABoolean_isRefusedAtItsValue() {
        PolicyException e = catchThrowableOfType(PolicyException.class, () -> PolicyFiles.parseProject("a.yaml",
                "version: 1\nproject: p\nworkspace:\n  writableGitConfig: always\n"));
        assertThat(e).isNotNull();
        Problem p = onlyProblem(e.problems());
        assertThat(p.toString()).startsWith("a.yaml:4:22: workspace.writableGitConfig must be true or false")
                .contains("SECURITY.md");
    }

    @Test
    void parseProject_image_keepsPathTagDigestAndWhereItWasWritten_andIsEmptyByDefault() throws Exception {
        assertThat(PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\n").image()).isEmpty();
        String digest = "sha256:" + "ab".repeat(32);
        ProjectPolicy p = PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nimage:\n  oci: images/devbox\n  tag: v3\n  digest: "
                + digest + "\n");
        ProjectPolicy.Image i = p.image().orElseThrow();
        assertThat(i.source()).isEqualTo(new ProjectPolicy.Oci("images/devbox"));
        assertThat(i.tag()).contains("v3");
        assertThat(i.digest()).contains(digest);
        assertThat(i.position().file()).isEqualTo("a.yaml");
        assertThat(i.position().line()).isEqualTo(4);
    }

    @Test
    void parseProject_imageBareString_refusedWithTheRefFix() {
        assertThatThrownBy(() -> PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nimage: node:20\n"))
                .isInstanceOf(PolicyException.class).hasMessageContaining("a.yaml:3:").hasMessageContaining("bare string")
                .hasMessageContaining("image: {ref: node:20}");
    }

    @Test
    void parseProject_imageRef_keepsTheReference_andInsecureOnlyForLoopback() throws Exception {
        String ref = "registry.acme.dev:5000/team/devbox:1@sha256:" + "ab".repeat(32);
        assertThat(PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nimage: {ref: \"" + ref + "\"}\n").image().orElseThrow().source())
                .isEqualTo(new ProjectPolicy.Registry(ref, false));
        for (String host : List.of("127.0.0.1:5000", "localhost:5000", "[::1]:5000", "127.10.0.2")) {
            assertThat(PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nimage:\n  ref: \"" + host + "/devbox:1\"\n  insecure: true\n")
                    .image().orElseThrow().source()).isEqualTo(new ProjectPolicy.Registry(host + "/devbox:1", true));
        }
        for (String host : List.of("registry.acme.dev", "10.0.0.5:5000", "127.0.0.1.nip.io", "localhost.acme.dev:5000")) {
            assertThatThrownBy(() -> PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nimage:\n  ref: \"" + host + "/devbox:1\"\n  insecure: true\n"))
                    .as(host).isInstanceOf(PolicyException.class).hasMessageContaining("a.yaml:4:")
                    .hasMessageContaining("plain HTTP only to a loopback registry").hasMessageContaining("HTTPS");
        }
    }

    @Test
    void parseProject_imageRefMalformed_refusedAtTheRefWithTheShape() {
        assertThatThrownBy(() -> PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nimage:\n  ref: \"Registry/UPPER:1\"\n"))
                .isInstanceOf(PolicyException.class).hasMessageContaining("a.yaml:4:").hasMessageContaining("not a registry reference")
                .hasMessageContaining("HOST[:PORT]/NAME[:TAG][@sha256:");
    }

    @Test
    void parseProject_imageDevcontainer_keepsThePath() throws Exception {
        assertThat(PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nimage:\n  devcontainer: .devcontainer/devcontainer.json\n")
                .image().orElseThrow().source()).isEqualTo(new ProjectPolicy.Devcontainer(".devcontainer/devcontainer.json", false));
    }

    @Test
    void parseProject_imageWithTwoFormsOrATagOnARef_refused() {
        assertThatThrownBy(() -> PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nimage:\n  oci: images/devbox\n  ref: r.example/x:1\n"))
                .isInstanceOf(PolicyException.class).hasMessageContaining("exactly one of oci, ref, devcontainer");
        assertThatThrownBy(() -> PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nimage:\n  ref: r.example/x\n  tag: v1\n"))
                .isInstanceOf(PolicyException.class).hasMessageContaining("a.yaml:5:").hasMessageContaining("image.tag is for an OCI layout");
    }

    @Test
    void parseProject_setupSteps_commandsAndMappingsInOrder_rootFalseByDefault() throws Exception {
        ProjectPolicy p = PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nworkspace:\n  source: x\n  setup:\n"
                + "    - npm ci\n    - {run: make build}\n    - run: make test\n      root: false\n");
        ProjectPolicy.Workspace w = p.workspace().orElseThrow();
        assertThat(w.setup()).containsExactly("npm ci", "make build", "make test");
        assertThat(w.steps()).extracting(ProjectPolicy.SetupStep::root).containsExactly(false, false, false);
        assertThat(w.steps()).extracting(s -> s.position().line()).containsExactly(6, 7, 8);
        assertThat(w.stepKeys()).as("a project without root steps keys its templates as before").isEqualTo(w.setup());
    }

    @Test
    void stepKeys_rootStep_differsFromTheSameCommandUnprivileged() {
        SourcePosition at = new SourcePosition("a.yaml", 6, 7);
        ProjectPolicy.Workspace plain = new ProjectPolicy.Workspace("x", "main",
                List.of(new ProjectPolicy.SetupStep("apt-get install -y jq", false, at)), List.of());
        ProjectPolicy.Workspace root = new ProjectPolicy.Workspace("x", "main",
                List.of(new ProjectPolicy.SetupStep("apt-get install -y jq", true, at)), List.of());
        assertThat(root.setup()).isEqualTo(plain.setup());
        assertThat(root.stepKeys()).isNotEqualTo(plain.stepKeys());
    }

    @Test
    void parseProject_setupStepMovedToAnotherLine_isTheSameWorkspace_butAChangedCommandIsNot() throws Exception {
        ProjectPolicy.Workspace before = PolicyFiles.parseProject("a.yaml",
                "version: 1\nproject: p\nworkspace:\n  source: x\n  setup:\n    - npm ci\n").workspace().orElseThrow();
        ProjectPolicy.Workspace moved = PolicyFiles.parseProject("a.yaml",
                "version: 1\nproject: p\nworkspace:\n  source: x\n  # install\n  setup:\n    - {run: npm ci}\n").workspace().orElseThrow();
        ProjectPolicy.Workspace changed = PolicyFiles.parseProject("a.yaml",
                "version: 1\nproject: p\nworkspace:\n  source: x\n  setup:\n    - npm install\n").workspace().orElseThrow();
        assertThat(moved).isEqualTo(before);
        assertThat(changed).isNotEqualTo(before);
    }

    static Stream<Arguments> setupStepRefusals() {
        return Stream.of(
                Arguments.of("    - {run: x, as: root}\n", "a.yaml:6:16: unknown key 'as' in workspace.setup step"),
                Arguments.of("    - {root: false}\n", "a.yaml:6:7: workspace.setup step has no 'run'"),
                Arguments.of("    - {run: \"  \"}\n", "a.yaml:6:13: workspace.setup step has an empty 'run'"),
                Arguments.of("    - {run: [a]}\n", "a.yaml:6:13: workspace.setup step.run must be text"),
                Arguments.of("    - {run: x, root: yes}\n", "a.yaml:6:22: workspace.setup step's 'root' must be true or false, found \"yes\""),
                Arguments.of("    - [npm, ci]\n", "a.yaml:6:7: setup items must be a command or {run: …, root: true}, found"),
                Arguments.of("    - {run: apt-get install -y jq, root: true}\n",
                        "a.yaml:6:7: setup step \"apt-get install -y jq\" has root: true, but the project has no image"));
    }

    @ParameterizedTest
    @MethodSource("setupStepRefusals")
    void parseProject_badSetupStep_isRefusedAtItsLineAndColumn(String step, String expected) {
        PolicyException e = catchThrowableOfType(PolicyException.class, () -> PolicyFiles.parseProject("a.yaml",
                "version: 1\nproject: p\nworkspace:\n  source: x\n  setup:\n" + step));
        assertThat(e).isNotNull();
        assertThat(onlyProblem(e.problems()).toString()).startsWith(expected).contains("fix: ");
    }

    @Test
    void parseProject_rootStepsOnAnImage_areAcceptedFirst_andCountedAsTheLeadingRootSteps() throws Exception {
        String head = "version: 1\nproject: p\nimage: {oci: images/devbox}\nworkspace:\n  source: x\n  setup:\n";
        ProjectPolicy.Workspace ws = PolicyFiles.parseProject("a.yaml", head + "    - {run: apt-get update, root: true}\n"
                + "    - {run: apt-get install -y jq, root: true}\n    - npm ci\n").workspace().orElseThrow();
        assertThat(ws.setup()).containsExactly("apt-get update", "apt-get install -y jq", "npm ci");
        assertThat(ws.rootSteps()).isEqualTo(2);
        assertThat(PolicyFiles.parseProject("a.yaml", head + "    - npm ci\n").workspace().orElseThrow().rootSteps()).isZero();
    }

    @Test
    void parseProject_rootStepAfterAnUnprivilegedStep_isRefusedAtItsLine_theSameStepsRootFirstAreAccepted() throws Exception {
        String head = "version: 1\nproject: p\nimage: {oci: images/devbox}\nworkspace:\n  source: x\n  setup:\n";
        PolicyException e = catchThrowableOfType(PolicyException.class, () -> PolicyFiles.parseProject("a.yaml",
                head + "    - npm ci\n    - {run: apt-get install -y jq, root: true}\n"));
        assertThat(e).isNotNull();
        assertThat(onlyProblem(e.problems()).toString()).startsWith("a.yaml:8:7: setup step \"apt-get install -y jq\" has root: true after"
                + " the unprivileged step \"npm ci\" (line 7)").contains("move the root: true steps before \"npm ci\"");
        assertThat(PolicyFiles.parseProject("a.yaml", head + "    - {run: apt-get install -y jq, root: true}\n    - npm ci\n")
                .workspace().orElseThrow().rootSteps()).isEqualTo(1);
    }

    @Test
    void parseProject_env_listsNamesInOrder_andIsEmptyByDefault() throws Exception {
        assertThat(PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\n").env()).isEmpty();
        assertThat(PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nenv: [ANTHROPIC_API_KEY, GH_TOKEN]\n").env())
                .containsExactly("ANTHROPIC_API_KEY", "GH_TOKEN");
    }

    @Test
    void parseProject_envWithAValue_isRefusedAtTheItem_sayingToListTheNameOnly() {
        PolicyException e = catchThrowableOfType(PolicyException.class, () -> PolicyFiles.parseProject("a.yaml",
                "version: 1\nproject: p\nenv:\n  - GH_TOKEN=ghp_secret\n"));
        assertThat(e).isNotNull();
        Problem p = onlyProblem(e.problems());
        assertThat(p.toString()).startsWith("a.yaml:4:5: env items are variable names, found \"GH_TOKEN=ghp_secret\"")
                .contains("list the name only (\"GH_TOKEN\")").contains("--env NAME=VALUE");
    }

    @Test
    void loadOrg_noPath_isNone() throws Exception {
        assertThat(PolicyFiles.loadOrg(Optional.empty())).isSameAs(OrgPolicy.NONE);
    }

    @Test
    void loadOrg_givenPath_loadsThatFile() throws Exception {
        OrgPolicy org = PolicyFiles.loadOrg(Optional.of(EXAMPLES.resolve("org.yaml")));
        assertThat(org.production()).extracting(Rule::describe)
                .containsExactly("api.acme.com", "*.prod.acme.internal", "10.20.0.0/16", "2001:db8:20::/48");
    }

    @Test
    void loadOrg_givenMissingPath_failsAsForThePath(@TempDir Path dir) {
        Path missing = dir.resolve("org.yaml");
        PolicyException direct = catchThrowableOfType(PolicyException.class, () -> PolicyFiles.loadOrg(missing));
        PolicyException optional = catchThrowableOfType(PolicyException.class, () -> PolicyFiles.loadOrg(Optional.of(missing)));
        assertThat(direct).isNotNull();
        assertThat(optional).isNotNull();
        assertThat(optional.problems()).isEqualTo(direct.problems());
    }

    @Test
    void loadOrg_shippedExample_loads() throws Exception {
        OrgPolicy org = PolicyFiles.loadOrg(EXAMPLES.resolve("org.yaml"));
        assertThat(org.production()).extracting(Rule::describe)
                .containsExactly("api.acme.com", "*.prod.acme.internal", "10.20.0.0/16", "2001:db8:20::/48");
        assertThat(org.production()).allSatisfy(r -> {
            assertThat(r.kind()).isEqualTo(Rule.Kind.PRODUCTION);
            assertThat(r.ports().isAny()).isTrue();
        });
        assertThat(org.presets()).containsKey("acme-ci");
        assertThat(org.presets().get("acme-ci").rules()).extracting(Rule::describe)
                .containsExactly("ci.acme.dev:80,443", "*.artifacts.acme.dev:80,443");
        assertThat(org.auditEvery()).isEqualTo(Duration.ofDays(7));
    }

    @Test
    void parseProject_rulesRememberWhereTheyWereWritten() throws Exception {
        ProjectPolicy p = PolicyFiles.parseProject("airlock.yaml", """
                version: 1
                project: demo
                network:
                  allow:
                    - github.com
                    - host: staging.acme.dev
                      ports: [8443, 443]
                  deny:
                    - cidr: 203.0.113.0/24
                """);
        assertThat(p.allow().get(0).position()).hasToString("airlock.yaml:5:7");
        assertThat(p.allow().get(1).position()).hasToString("airlock.yaml:6:13");
        assertThat(p.deny().get(0).position()).hasToString("airlock.yaml:9:13");
        assertThat(p.allow().get(0).ports()).isEqualTo(PortSet.WEB);
        assertThat(p.allow().get(1).ports()).isEqualTo(PortSet.of(443, 8443));
        assertThat(p.deny().get(0).ports().isAny()).as("deny rules cover every port by default").isTrue();
        assertThat(p.allow().get(0)).hasToString("github.com:80,443 (airlock.yaml:5:7, network.allow)");
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
        a single-company zone from the PSL private section  | "*.githubusercontent.com"
        GitHub Pages (private section)                      | "*.github.io"
        an S3 zone (private section)                        | "*.s3.amazonaws.com"
        a company domain under a two-label suffix           | "*.example.co.uk"
        a PSL wildcard exception                            | "*.city.kawasaki.jp"
        a company domain under an internal TLD              | "*.acme.internal"
        an exact name that is itself a suffix is harmless   | co.uk
        Punycode written canonically                        | xn--bcher-kva.de
        a numeric label that is not the last                | 1e100.net
        name:port                                           | ssh.github.com:22
        the highest port                                    | github.com:65535
        the lowest port                                     | github.com:1
        a CIDR                                              | 'cidr: 198.18.7.0/24'
        an IPv6 CIDR, unbracketed as CIDRs are written      | 'cidr: 2001:db8::/32'
        a host route                                        | 'cidr: 198.18.7.5/32'
        a host with ports                                   | '{host: staging.acme.dev, ports: [443, 8443]}'
        """)
    void parseProject_accepts(String description, String entry) throws Exception {
        ProjectPolicy p = PolicyFiles.parseProject("airlock.yaml", withAllow(entry));
        assertThat(p.allow()).as(description).hasSize(1);
    }

    // ---- refusals of a single allow entry (line 5, column 7) -------------------------------------

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
        # description                           | entry                 | message                                              | fix
        # ---- globs ----------------------------------------------------------------------------------------------------------------
        match everything                        | "*"                   | "*" would match every host                           | list the hosts
        a wildcard naming nothing               | "*."                  | "*." names no domain                                 | "*.example.com"
        a TLD wildcard                          | "*.com"               | public suffix "com"                                  | "*.example.com"
        a two-label public suffix               | "*.co.uk"             | public suffix "co.uk"                                | "*.example.co.uk"
        a country-code TLD                      | "*.uk"                | public suffix "uk"                                   | name your organisation's own domain
        a public suffix under com.au            | "*.com.au"            | public suffix "com.au"                               | own domain
        a PSL wildcard's child                  | "*.foo.kawasaki.jp"   | public suffix "foo.kawasaki.jp"                      | own domain
        a single-label name                     | "*.internal"          | public suffix "internal"                             | own domain
        a glob glued to a name                  | "*github.com"         | "*github.com" has a glob that is not a leading "*."  | "*." followed by a name
        a glob inside a name                    | "git*hub.com"         | "git*hub.com" has a glob                             | "*." followed by a name
        two globs                               | "*.*.github.com"      | "*.*.github.com" has a glob                          | "*." followed by a name
        a trailing glob                         | "github.*"            | "github.*" has a glob                                | "*." followed by a name
        a double star                           | "**.github.com"       | has a glob                                           | "*." followed by a name
        # ---- IPv6 and IP literals ------------------------------------------------------------------------------------------------
        unbracketed IPv6                        | 2001:db8::1           | "2001:db8::1" is an unbracketed IPv6 address         | - cidr: 2001:db8::1/128
        unbracketed IPv6 loopback               | "::1"                 | "::1" is an unbracketed IPv6 address                 | no project rule can open it
        unbracketed IPv6 with a zone            | "fe80::1%eth0"        | "fe80::1%eth0" is an unbracketed IPv6 address        | only as CIDR rules
        unbracketed non-canonical IPv6          | "0:0:0:0:0:0:0:1"     | unbracketed IPv6                                     | no project rule can open it
        bracketed IPv6 with a port              | "[::1]:443"           | "[::1]:443" is an IPv6 address                       | no project rule can open it
        bracketed IPv6                          | "[2001:db8::1]"       | "[2001:db8::1]" is an IPv6 address                   | - cidr: 2001:db8::1/128
        an IPv4 literal in a name entry         | 198.18.7.1            | "198.18.7.1" is an IP address                        | - cidr: 198.18.7.1/32
        a loopback literal: no cidr advised     | 127.0.0.1             | "127.0.0.1" is an IP address                         | no project rule can open it
        an IPv6 literal in a name entry         | "[2001:db8::1]"       | "[2001:db8::1]" is an IPv6 address                   | - cidr: 2001:db8::1/128
        an IPv4 literal with a port             | 198.18.0.1:5432       | "198.18.0.1" is an IP address                        | - cidr: 198.18.0.1/32
        octal                                   | 0177.0.0.1            | "0177.0.0.1" is a numeric address in a non-canonical form | - cidr: 198.18.7.1/32
        short form                              | 127.1                 | "127.1" is a numeric address in a non-canonical form | only as CIDR rules
        decimal integer                         | 2130706433            | "2130706433" is a numeric address in a non-canonical form | only as CIDR rules
        decimal integer, quoted                 | "2130706433"          | "2130706433" is a numeric address                    | only as CIDR rules
        hex short form                          | 0x7f.1                | "0x7f.1" is a numeric address in a non-canonical form | only as CIDR rules
        hex integer                             | 0x7f000001            | "0x7f000001" is a numeric address                    | only as CIDR rules
        leading zeros                           | 127.000.000.001       | "127.000.000.001" is a numeric address               | only as CIDR rules
        a trailing dot on an address            | 127.0.0.1.            | "127.0.0.1." is a numeric address                    | only as CIDR rules
        a name whose last label is numeric      | foo.123               | "foo.123" is a numeric address                       | only as CIDR rules
        # ---- ports -----------------------------------------------------------------------------------------------------------------
        port 0                                  | github.com:0          | invalid port "0" in "github.com:0"                   | 1 to 65535
        port 65536                              | github.com:65536      | invalid port "65536" in "github.com:65536"           | 1 to 65535
        port -1                                 | github.com:-1         | invalid port "-1" in "github.com:-1"                 | 1 to 65535
        a signed port                           | github.com:+443       | invalid port "+443"                                  | without a sign: 443
        a port with a leading zero              | github.com:0443       | invalid port "0443"                                  | without leading zeros: 443
        a service name                          | github.com:https      | invalid port "https"                                 | write 443 for https
        another service name                    | github.com:ssh        | invalid port "ssh"                                   | write 22 for ssh
        an empty port                           | "github.com:"         | "github.com:" has an empty port                      | after the colon
        a huge port                             | github.com:4294967739 | invalid port "4294967739"                            | 1 to 65535
        # ---- names that are not canonical or not names ---------------------------------------------------------------------------
        upper case                              | GitHub.com            | "GitHub.com" is not in canonical form                | write "github.com"
        a trailing dot                          | github.com.           | "github.com." is not in canonical form               | write "github.com"
        a wildcard in upper case                | "*.GitHub.com"        | "*.GitHub.com" is not in canonical form              | write "*.github.com"
        Unicode must be written as Punycode     | bücher.de             | "bücher.de" is not in canonical form                 | write "xn--bcher-kva.de"
        Unicode under a wildcard                | "*.bücher.de"         | not in canonical form                                | write "*.xn--bcher-kva.de"
        a Cyrillic homograph                    | gіthub.com            | "gіthub.com" is not in canonical form                | write "xn--gthub-n2e.com"
        full-width letters                      | ｇｉｔｈｕｂ.com        | not in canonical form                                | write "github.com"
        two trailing dots                       | github.com..          | "github.com.." is not a valid host name              | DNS name
        an underscore                           | git_hub.com           | "git_hub.com" is not a valid host name               | DNS name
        a leading hyphen                        | "-github.com"         | "-github.com" is not a valid host name               | DNS name
        a label over 63 characters              | aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com | label longer than 63 | DNS name
        invalid Punycode                        | xn--a.com             | "xn--a.com" is not a valid host name                 | DNS name
        userinfo                                | "github.com@evil.com" | is not a valid host name                             | DNS name
        a space                                 | "github .com"         | is not a valid host name                             | DNS name
        # ---- the wrong shape -------------------------------------------------------------------------------------------------------
        a mapping written as a string           | "cidr: 10.0.0.0/8"    | "cidr: 10.0.0.0/8" is a string, not a mapping        | - cidr: 10.0.0.0/8
        a host mapping written as a string      | "host:github.com"     | is a string, not a mapping                           | - host: github.com
        a list                                  | [github.com]          | a rule must be a name, name:port, or a mapping       | "- github.com"
        an explicit null                        | null                  | found nothing                                        | "- github.com"
        """)
    void parseProject_refusesEntry(String description, String entry, String message, String fix) {
        Problem p = onlyProblem(projectProblems(withAllow(entry)));
        assertThat(p.toString()).as(description).startsWith("airlock.yaml:5:7: ");
        assertThat(p.message()).as(description).contains(message);
        assertThat(p.fix()).as(description).contains(fix);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
        # description                          | entry                                   | at     | message                                      | fix
        CIDR with host bits                    | 'cidr: 10.0.0.1/8'                      | 5:13   | "10.0.0.1/8" has host bits set after /8      | write "10.0.0.0/8" for the network, or "10.0.0.1/32" for one address
        IPv6 CIDR with host bits               | 'cidr: 2001:db8::1/32'                  | 5:13   | "2001:db8::1/32" has host bits set after /32 | write "2001:db8::/32"
        prefix too long                        | 'cidr: 10.0.0.0/33'                     | 5:13   | has an invalid prefix length                 | /0 to /32
        prefix with a leading zero             | 'cidr: 10.0.0.0/08'                     | 5:13   | has an invalid prefix length                 | without leading zeros
        octal address in a CIDR                | 'cidr: 010.0.0.0/8'                     | 5:13   | is not a canonical address                   | 198.18.7.0/24
        short-form address in a CIDR           | 'cidr: 10.1/16'                         | 5:13   | "10.1/16" is not a canonical address         | canonical dotted quad
        upper-case IPv6 in a CIDR              | 'cidr: 2001:DB8::/32'                   | 5:13   | is not a canonical address                   | RFC 5952
        bracketed IPv6 in a CIDR               | 'cidr: "[2001:db8::]/32"'               | 5:13   | "[2001:db8::]/32" is written with brackets   | write "2001:db8::/32"
        a name in a CIDR                       | 'cidr: github.com'                      | 5:13   | "github.com" is not a CIDR                   | 198.18.7.0/24
        a host with a port                     | 'host: github.com:443'                  | 5:13   | host "github.com:443" includes a port        | host: github.com, ports: [443]
        a wildcard host on a public suffix     | 'host: "*.com"'                         | 5:13   | public suffix "com"                          | own domain
        an IP address as a host                | 'host: 127.0.0.1'                       | 5:13   | "127.0.0.1" is an IP address                 | no project rule can open it
        IPv6 as a host                         | 'host: "::1"'                           | 5:13   | unbracketed IPv6                             | no project rule can open it
        both host and cidr                     | '{host: github.com, cidr: 10.0.0.0/8}'  | 5:7    | exactly one of 'host' or 'cidr'              | - host: staging.acme.dev
        neither host nor cidr                  | '{ports: [443]}'                        | 5:7    | exactly one of 'host' or 'cidr'              | - cidr: 198.18.7.0/24
        empty ports                            | '{host: github.com, ports: []}'         | 5:33   | 'ports' is empty                             | default (80,443)
        ports not a list                       | '{host: github.com, ports: 443}'        | 5:33   | ports must be a list                         | ports: [a, b]
        """)
    void parseProject_refusesMappingEntry(String description, String entry, String at, String message, String fix) {
        List<Problem> problems = projectProblems(withAllow(entry));
        assertThat(problems).as(description).isNotEmpty();
        Problem p = problems.get(0);
        assertThat(p.toString()).as(description).startsWith("airlock.yaml:" + at + ": ");
        assertThat(p.message()).as(description).contains(message);
        assertThat(p.fix()).as(description).contains(fix);
    }

    @Test
    void parseProject_badPortsInAList_areEachReportedWhereWritten() {
        List<Problem> problems = projectProblems(withAllow("""
                host: github.com
                      ports: [0443, +443, "443", https, 0, -1, 65536, 443.0, [22]]"""));
        assertThat(problems).extracting(Problem::toString).containsExactly(
                "airlock.yaml:6:15: invalid port \"0443\"; fix: write the port without leading zeros: 443",
                "airlock.yaml:6:21: invalid port \"+443\"; fix: write the port without a sign: 443",
                "airlock.yaml:6:27: port \"443\" is quoted; fix: write it without quotes: 443",
                "airlock.yaml:6:34: invalid port \"https\"; fix: ports are numbers: write 443 for https",
                "airlock.yaml:6:41: invalid port \"0\"; fix: write a decimal port from 1 to 65535",
                "airlock.yaml:6:44: invalid port \"-1\"; fix: write a decimal port from 1 to 65535",
                "airlock.yaml:6:48: invalid port \"65536\"; fix: write a decimal port from 1 to 65535",
                "airlock.yaml:6:55: invalid port \"443.0\"; fix: write a decimal port from 1 to 65535",
                "airlock.yaml:6:62: a port must be a number, found a list; fix: write a number from 1 to 65535");
    }

    @Test
    void parseProject_unknownRuleKey_suggestsTheKnownOne() {
        List<Problem> problems = projectProblems(withAllow("hots: github.com"));
        assertThat(problems.get(0).toString())
                .startsWith("airlock.yaml:5:7: unknown key 'hots' in a rule")
                .contains("did you mean 'host'?");
    }

    @ParameterizedTest(name = "\"{0}\" -> did you mean ''{1}''")
    @CsvSource(delimiter = '|', textBlock = """
        hots      | host
        alow      | allow
        allwo     | allow
        netwrok   | network
        Version   | version
        prots     | ports
        cdir      | cidr
        presest   | presets
        colour    | ''
        x         | ''
        """)
    void closest_suggestsTheKnownKeyATypoCameFrom(String typo, String expected) {
        java.util.Set<String> keys = java.util.Set.of("version", "project", "network", "presets", "allow", "deny",
                "setup", "host", "cidr", "ports");
        assertThat(Fields.closest(typo, keys).orElse("")).isEqualTo(expected);
    }

    // ---- refusals of the whole file ----------------------------------------------------------------

    static Stream<Arguments> fileRefusals() {
        return Stream.of(
                Arguments.of("a misspelt top-level key", """
                        version: 1
                        project: demo
                        netwrok:
                          allow: [github.com]
                        """, "airlock.yaml:3:1: unknown key 'netwrok' in the project policy", "did you mean 'network'?"),
                Arguments.of("a misspelt network key", """
                        version: 1
                        project: demo
                        network:
                          alow: [github.com]
                        """, "airlock.yaml:4:3: unknown key 'alow' in network", "did you mean 'allow'?"),
                Arguments.of("a misspelt setup key", """
                        version: 1
                        project: demo
                        network:
                          setup:
                            allwo: [registry.npmjs.org]
                        """, "airlock.yaml:5:5: unknown key 'allwo' in network.setup", "did you mean 'allow'?"),
                Arguments.of("a key like no other", """
                        version: 1
                        project: demo
                        colour: blue
                        """, "airlock.yaml:3:1: unknown key 'colour' in the project policy",
                        "allowed keys: env, image, network, pool, project, resources, trust, version, workspace"),
                Arguments.of("an unsupported version", """
                        version: 2
                        project: demo
                        """, "airlock.yaml:1:10: unsupported version \"2\"", "write \"version: 1\""),
                Arguments.of("a version that is not an integer", """
                        version: 1.0
                        project: demo
                        """, "airlock.yaml:1:10: unsupported version \"1.0\"", "version: 1"),
                Arguments.of("a quoted version", """
                        version: "1"
                        project: demo
                        """, "airlock.yaml:1:10: unsupported version \"1\"", "version: 1"),
                Arguments.of("no version", """
                        project: demo
                        """, "airlock.yaml:1:1: the project policy has no 'version'", "add \"version: 1\""),
                Arguments.of("no project", """
                        version: 1
                        """, "airlock.yaml:1:1: the project policy has no 'project'", "project: my-project"),
                Arguments.of("a project name in upper case", """
                        version: 1
                        project: Payments
                        """, "airlock.yaml:2:10: project name \"Payments\" is not valid", "such as \"payments\""),
                Arguments.of("a project name with an underscore", """
                        version: 1
                        project: my_project
                        """, "airlock.yaml:2:10: project name \"my_project\" is not valid", "such as \"my-project\""),
                Arguments.of("a project name over 40 characters", """
                        version: 1
                        project: %s
                        """.formatted("a".repeat(41)), "airlock.yaml:2:10: project name", "1 to 40 characters"),
                Arguments.of("a duplicate key", """
                        version: 1
                        project: demo
                        project: other
                        """, "airlock.yaml:3:1: key 'project' appears twice (first at airlock.yaml:2:1)", "keep one 'project'"),
                Arguments.of("a duplicate nested key", """
                        version: 1
                        project: demo
                        network:
                          allow: [github.com]
                          allow: [gitlab.com]
                        """, "airlock.yaml:5:3: key 'allow' appears twice (first at airlock.yaml:4:3)", "keep one 'allow'"),
                Arguments.of("an empty file", "", "airlock.yaml:1:1: the file is empty", "version: 1"),
                Arguments.of("a file of comments", "# nothing here\n", "airlock.yaml:1:1: the file is empty", "version: 1"),
                Arguments.of("two documents", """
                        version: 1
                        project: demo
                        ---
                        version: 1
                        """, "airlock.yaml:4:1: the file holds more than one YAML document", "remove the extra \"---\""),
                Arguments.of("broken YAML", """
                        version: 1
                        project: [demo
                        """, "airlock.yaml:", "fix the YAML syntax"),
                Arguments.of("a list at the top", """
                        - github.com
                        """, "airlock.yaml:1:1: the project policy must be a mapping, found a list", "allowed keys"),
                Arguments.of("allow as a mapping", """
                        version: 1
                        project: demo
                        network:
                          allow: {github.com: 443}
                        """, "airlock.yaml:4:10: network.allow must be a list, found a mapping", "- item"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fileRefusals")
    void parseProject_refusesFile(String description, String yaml, String starts, String fix) {
        List<Problem> problems = projectProblems(yaml);
        assertThat(problems).as(description).anySatisfy(p -> {
            assertThat(p.toString()).startsWith(starts);
            assertThat(p.fix()).contains(fix);
        });
        assertThat(problems).as("every problem has file:line:col").allSatisfy(p ->
                assertThat(p.toString()).matches("(?s)airlock\\.yaml:[1-9][0-9]*:[1-9][0-9]*: .*"));
    }

    @Test
    void parseProject_reportsEveryProblemAtOnce_inFileOrder() {
        List<Problem> problems = projectProblems("""
                version: 2
                project: Demo
                network:
                  allow:
                    - "*.com"
                    - github.com:0443
                    - 127.1
                    - github.com
                    - cidr: 10.0.0.1/8
                  deny:
                    - GitHub.com
                pool: {min: 5, max: 2}
                """);
        assertThat(problems).extracting(p -> p.position().line()).containsExactly(1, 2, 5, 6, 7, 9, 11, 12);
        assertThat(problems).extracting(Problem::message).anySatisfy(m -> assertThat(m).contains("pool.min (5) is above pool.max (2)"));
    }

    @Test
    void parseProject_tellsSetupAllowApart() throws Exception {
        ProjectPolicy p = PolicyFiles.parseProject("airlock.yaml", """
                version: 1
                project: demo
                network:
                  setup:
                    allow: [registry.npmjs.org]
                """);
        assertThat(p.allow()).isEmpty();
        assertThat(p.setupAllow()).singleElement().satisfies(r -> assertThat(r.source()).isEqualTo("network.setup.allow"));
    }

    // ---- the organisation file -----------------------------------------------------------------------

    static Stream<Arguments> orgRefusals() {
        return Stream.of(
                Arguments.of("a production entry with a port", """
                        version: 1
                        production:
                          - api.acme.com:443
                        """, "org.yaml:3:5: production entry \"api.acme.com:443\" names a port", "write \"api.acme.com\""),
                Arguments.of("production ports in a mapping", """
                        version: 1
                        production:
                          - host: api.acme.com
                            ports: [443]
                        """, "org.yaml:4:5: unknown key 'ports' in a rule", "allowed keys: cidr, host"),
                Arguments.of("a production wildcard on a public suffix", """
                        version: 1
                        production:
                          - "*.com"
                        """, "org.yaml:3:5: \"*.com\" would match every name under the public suffix", "own domain"),
                Arguments.of("a production CIDR with host bits", """
                        version: 1
                        production:
                          - cidr: 10.20.0.1/16
                        """, "org.yaml:3:11: \"10.20.0.1/16\" has host bits set", "10.20.0.0/16"),
                Arguments.of("a non-canonical production name", """
                        version: 1
                        production:
                          - API.acme.com
                        """, "org.yaml:3:5: \"API.acme.com\" is not in canonical form", "write \"api.acme.com\""),
                Arguments.of("an org preset with a built-in name", """
                        version: 1
                        presets: { github: [git.acme.dev] }
                        """, "org.yaml:2:12: preset \"github\" has the name of a built-in preset", "org-github"),
                Arguments.of("an org preset that is not a list", """
                        version: 1
                        presets: { acme-ci: ci.acme.dev }
                        """, "org.yaml:2:21: preset \"acme-ci\" must be a list of rules", "acme-ci: ["),
                Arguments.of("an audit under a minute", """
                        version: 1
                        audit: { every: 30s }
                        """, "org.yaml:2:17: audit.every 30s is under a minute", "1h"),
                Arguments.of("an audit period without a unit", """
                        version: 1
                        audit: { every: 7 days }
                        """, "org.yaml:2:17: invalid audit.every \"7 days\"", "7d"),
                Arguments.of("a misspelt org key", """
                        version: 1
                        prodution: [api.acme.com]
                        """, "org.yaml:2:1: unknown key 'prodution' in the organisation policy", "did you mean 'production'?"),
                Arguments.of("an empty org file", "", "org.yaml:1:1: the file is empty", "version: 1"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("orgRefusals")
    void parseOrg_refuses(String description, String yaml, String starts, String fix) {
        List<Problem> problems = orgProblems(yaml);
        assertThat(problems).as(description).anySatisfy(p -> {
            assertThat(p.toString()).startsWith(starts);
            assertThat(p.fix()).contains(fix);
        });
    }

    @Test
    void parseOrg_minimal_hasNoProductionAndAWeeklyAudit() throws Exception {
        OrgPolicy org = PolicyFiles.parseOrg("org.yaml", "version: 1\n");
        assertThat(org.production()).isEmpty();
        assertThat(org.presets()).isEmpty();
        assertThat(org.auditEvery()).isEqualTo(OrgPolicy.DEFAULT_AUDIT_EVERY);
    }

    @Test
    void parseOrg_productionIsEveryPort() throws Exception {
        OrgPolicy org = PolicyFiles.parseOrg("org.yaml", """
                version: 1
                production: [api.acme.com, {cidr: 10.20.0.0/16}, {host: "*.prod.acme.internal"}]
                """);
        assertThat(org.production()).allSatisfy(r -> assertThat(r.ports().isAny()).isTrue());
        assertThat(org.production()).extracting(r -> r.destination() instanceof Destination.Addresses)
                .containsExactly(false, true, false);
    }

    // ---- files on disk ------------------------------------------------------------------------------

    @Test
    void loadProject_missingFile_saysSo() {
        assertThatThrownBy(() -> PolicyFiles.loadProject(Path.of("does-not-exist.yaml")))
                .isInstanceOf(PolicyException.class)
                .hasMessageStartingWith("does-not-exist.yaml: does not exist");
    }

    @Test
    void loadProject_directory_saysSo(@TempDir Path dir) {
        assertThatThrownBy(() -> PolicyFiles.loadProject(dir)).isInstanceOf(PolicyException.class)
                .hasMessageContaining("is a directory");
    }

    @Test
    void loadProject_notUtf8_saysSo(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("airlock.yaml");
        Files.write(f, new byte[] {'v', 'e', 'r', ':', ' ', (byte) 0xFF, (byte) 0xFE, '\n'});
        assertThatThrownBy(() -> PolicyFiles.loadProject(f)).isInstanceOf(PolicyException.class)
                .hasMessageContaining("is not UTF-8");
    }

    @Test
    void loadProject_problemsNameThePathGiven(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("airlock.yaml");
        Files.writeString(f, withAllow("\"*.com\""));
        assertThatThrownBy(() -> PolicyFiles.loadProject(f)).isInstanceOf(PolicyException.class)
                .hasMessageStartingWith(f + ":5:7: ");
    }

    @ParameterizedTest
    @ValueSource(strings = {"airlock.yaml", "org.yaml"})
    void shippedExamples_exist(String name) {
        assertThat(EXAMPLES.resolve(name)).isRegularFile();
    }

    @Test
    void workspaceSource_relativePath_isRelativeToTheFilesDirectory_urlsAndHostPathsStayAsWritten() {
        Path dir = Path.of("/srv/app");
        java.util.function.Function<String, String> from = src -> new ProjectPolicy.Workspace(src, "main", List.of(), List.of()).sourceFrom(dir);
        assertThat(from.apply(".")).isEqualTo("/srv/app");
        assertThat(from.apply("../lib")).isEqualTo("/srv/lib");
        assertThat(from.apply("sub/repo.git")).isEqualTo("/srv/app/sub/repo.git");
        assertThat(from.apply("/abs/repo")).isEqualTo("/abs/repo");
        assertThat(from.apply("https://git.example/app.git")).isEqualTo("https://git.example/app.git");
        assertThat(from.apply("file:///abs/repo")).isEqualTo("file:///abs/repo");
        assertThat(from.apply("git@git.example:team/app.git")).as("scp-like: a colon before any slash").isEqualTo("git@git.example:team/app.git");
        assertThat(from.apply("./a:b")).as("a local path with a colon after a slash").isEqualTo("/srv/app/a:b");
    }
}
