package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DaemonConfigTest {

    @TempDir
    Path dir;

    Path write(String text) throws Exception {
        Path f = dir.resolve("daemon.yaml");
        Files.writeString(f, text);
        return f;
    }

    @Test
    void load_minimal_appliesTheDefaults_andResolvesPathsAgainstTheFile() throws Exception {
        DaemonConfig c = DaemonConfig.load(write("version: 1\nprojects:\n  - policy: p/airlock.yaml\n"));
        assertThat(c.state()).isEqualTo(DaemonConfig.DEFAULT_STATE);
        assertThat(c.socket()).isEqualTo(DaemonConfig.DEFAULT_STATE.resolve("daemon.sock"));
        assertThat(c.listen()).isEmpty();
        assertThat(c.projects()).singleElement().satisfies(p -> {
            assertThat(p.policy()).isEqualTo(dir.resolve("p/airlock.yaml"));
            assertThat(p.size()).as("auto").isEmpty();
            assertThat(p.hardLimit()).isEqualTo(16);
        });
    }

    @Test
    void load_fixedSize_andHardLimit() throws Exception {
        DaemonConfig c = DaemonConfig.load(write("version: 1\nstate: s\nprojects:\n  - policy: a.yaml\n    size: 3\n    hardLimit: 5\n"));
        assertThat(c.state()).isEqualTo(dir.resolve("s"));
        assertThat(c.projects().get(0).size()).isEqualTo(Optional.of(3));
        assertThat(c.projects().get(0).hardLimit()).isEqualTo(5);
    }

    @Test
    void load_sessions_defaultEightHours_topLevelAndPerProjectOverride() throws Exception {
        DaemonConfig plain = DaemonConfig.load(write("version: 1\nprojects:\n  - policy: a.yaml\n"));
        assertThat(plain.sessionIdleTimeout()).isEqualTo(IdleTimeout.DEFAULT);
        assertThat(plain.idleTimeoutOf(plain.projects().get(0))).isEqualTo(IdleTimeout.DEFAULT);

        DaemonConfig c = DaemonConfig.load(write("version: 1\nsessions: { idleTimeout: 30m }\nprojects:\n  - policy: a.yaml\n"
                + "  - policy: b.yaml\n    sessions:\n      idleTimeout: never\n  - policy: c.yaml\n    sessions: { idleTimeout: 0 }\n"));
        assertThat(c.idleTimeoutOf(c.projects().get(0)).after()).contains(java.time.Duration.ofMinutes(30));
        assertThat(c.idleTimeoutOf(c.projects().get(1))).isEqualTo(IdleTimeout.NEVER);
        assertThat(c.idleTimeoutOf(c.projects().get(2))).isEqualTo(IdleTimeout.NEVER);
    }

    @Test
    void load_sessions_badTimeoutOrKey_namesFileLineAndTheFix() throws Exception {
        Path bad = write("version: 1\nprojects:\n  - policy: a.yaml\n    sessions: { idleTimeout: 8 hours }\n");
        assertThatThrownBy(() -> DaemonConfig.load(bad)).hasMessageStartingWith(bad + ":4: sessions.idleTimeout '8 hours' of a.yaml is not a duration")
                .hasMessageContaining("Fix: a number with s, m, h or d");
        Path key = write("version: 1\nsessions:\n  idle: 8h\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(key)).hasMessageStartingWith(key + ":3:").hasMessageContaining("unknown key 'idle'")
                .hasMessageContaining("idleTimeout");
    }

    @Test
    void load_unknownKey_namesFileLineAndTheKnownKeys() throws Exception {
        Path f = write("version: 1\nprojects:\n  - policy: a.yaml\n    sise: 3\n");
        assertThatThrownBy(() -> DaemonConfig.load(f)).hasMessageStartingWith(f + ":4:")
                .hasMessageContaining("unknown key 'sise'").hasMessageContaining("Fix:").hasMessageContaining("size");
    }

    @Test
    void load_listenWithoutToken_isRefused() throws Exception {
        Path f = write("version: 1\nlisten: 127.0.0.1:7070\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(f)).hasMessageContaining("needs `tokenFile`").hasMessageContaining("Fix:");
    }

    @Test
    void load_listenNotAnAddress_isRefused() throws Exception {
        Path f = write("version: 1\nlisten: localhost:7070\ntokenFile: t\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(f)).hasMessageContaining("not ADDRESS:PORT");
    }

    @Test
    void load_aValueOfTheWrongType_namesItsLineColumnAndTheFix_inTheFilesTerms() throws Exception {
        Path f = write("version: 1\nprojects:\n  - policy: a.yaml\n    hardLimit: lots\n");
        assertThatThrownBy(() -> DaemonConfig.load(f))
                .hasMessage(f + ":4:16: projects[0].hardLimit is a string ('lots'), not a whole number. Fix: write a whole number, e.g. `hardLimit: 16`.");
        Path notAList = write("version: 1\nprojects:\n  policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(notAList))
                .hasMessage(notAList + ":3:3: projects is a mapping, not a list. Fix: list each project as `- policy: FILE`.");
        Path maybe = write("version: 1\naudits: maybe\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(maybe)).hasMessageStartingWith(maybe + ":2:9: audits is a string ('maybe'), not true or false.");
        Path listed = write("version: 1\nprojects:\n  - policy: [a.yaml]\n");
        assertThatThrownBy(() -> DaemonConfig.load(listed)).hasMessageStartingWith(listed + ":3:13: projects[0].policy is a list, not a single value.");
        Path section = write("version: 1\nkubernetes: on\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(section)).hasMessageStartingWith(section + ":2:13: kubernetes is a string ('on'), not a mapping.")
                .hasMessageContaining("namespace");
        // control: the same files with values of the right type load
        assertThat(DaemonConfig.load(write("version: 1\naudits: false\nprojects:\n  - policy: a.yaml\n    hardLimit: 4\n")).projects())
                .singleElement().satisfies(p -> assertThat(p.hardLimit()).isEqualTo(4));
    }

    @Test
    void load_aFileThatIsNotAConfiguration_saysWhatIsMissingOrWrong() throws Exception {
        Path empty = write("");
        assertThatThrownBy(() -> DaemonConfig.load(empty)).hasMessageStartingWith(empty + ":1:1: the file is empty.");
        Path list = write("- version: 1\n");
        assertThatThrownBy(() -> DaemonConfig.load(list)).hasMessageStartingWith(list + ":1:1: the configuration is a list, not a mapping of keys.");
        Path noVersion = write("projects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(noVersion)).hasMessage(noVersion + ": `version` is missing. Fix: start the file with `version: 1`.");
        Path twice = write("version: 1\nversion: 1\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(twice)).hasMessageStartingWith(twice + ":2:1: key 'version' appears twice");
        Path noPolicy = write("version: 1\nprojects:\n  - workspace: /srv/a\n");
        assertThatThrownBy(() -> DaemonConfig.load(noPolicy)).hasMessageStartingWith(noPolicy + ":3:5: projects[0] has no `policy`.");
        Path broken = write("version: 1\nprojects: [\n");
        assertThatThrownBy(() -> DaemonConfig.load(broken)).hasMessageStartingWith(broken + ":").hasMessageContaining("not valid YAML")
                .hasMessageContaining("Fix:");
    }

    @Test
    void load_badSize_noProjects_duplicates_badVersion_areRefusedWithTheFix() throws Exception {
        assertThatThrownBy(() -> DaemonConfig.load(write("version: 1\nprojects:\n  - policy: a.yaml\n    size: lots\n")))
                .hasMessageContaining("neither `auto` nor a number");
        assertThatThrownBy(() -> DaemonConfig.load(write("version: 1\nprojects: []\n"))).hasMessageContaining("no projects");
        assertThatThrownBy(() -> DaemonConfig.load(write("version: 1\nprojects:\n  - policy: a.yaml\n  - policy: ./a.yaml\n")))
                .hasMessageContaining("listed twice");
        assertThatThrownBy(() -> DaemonConfig.load(write("version: 2\nprojects:\n  - policy: a.yaml\n"))).hasMessageContaining("version 2");
        assertThatThrownBy(() -> DaemonConfig.load(write("version: 1\nprojects:\n  - policy: a.yaml\n    hardLimit: 0\n")))
                .hasMessageContaining("outside 1..1024");
        assertThatThrownBy(() -> DaemonConfig.load(dir.resolve("missing.yaml"))).hasMessageContaining("cannot read");
    }

    @Test
    void readToken_refusesAGroupReadableOrShortToken() throws Exception {
        Path t = dir.resolve("token");
        Files.writeString(t, "short\n");
        Files.setPosixFilePermissions(t, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        assertThatThrownBy(() -> DaemonServer.readToken(t)).hasMessageContaining("at least 32");
        Files.writeString(t, "x".repeat(40));
        Files.setPosixFilePermissions(t, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> DaemonServer.readToken(t)).hasMessageContaining("chmod 600");
        Files.setPosixFilePermissions(t, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        assertThat(DaemonServer.readToken(t)).hasSize(40);
    }

    @Test
    void load_export_defaultsToOnReleaseAndADay_andReadsTheSection() throws Exception {
        assertThat(DaemonConfig.load(write("version: 1\nprojects:\n  - policy: a.yaml\n")).export())
                .isEqualTo(new DaemonConfig.Export(true, java.time.Duration.ofHours(24)));
        DaemonConfig c = DaemonConfig.load(write("version: 1\nexport:\n  onRelease: false\n  keep: 7d\nprojects:\n  - policy: a.yaml\n"));
        assertThat(c.export()).isEqualTo(new DaemonConfig.Export(false, java.time.Duration.ofDays(7)));
        assertThat(DaemonConfig.load(write("version: 1\nexport: { keep: 90m }\nprojects:\n  - policy: a.yaml\n")).export().keep())
                .isEqualTo(java.time.Duration.ofMinutes(90));
    }

    @Test
    void load_exportKeepNotADuration_orAnUnknownKey_isRefusedWithTheFix() throws Exception {
        Path f = write("version: 1\nexport:\n  keep: forever\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(f)).hasMessageContaining("export.keep 'forever'").hasMessageContaining("Fix:");
        Path g = write("version: 1\nexport:\n  onRelaese: true\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(g)).hasMessageStartingWith(g + ":3:").hasMessageContaining("unknown key 'onRelaese'")
                .hasMessageContaining("onRelease");
    }

    @Test
    void load_noBackend_isLocal() throws Exception {
        DaemonConfig c = DaemonConfig.load(write("version: 1\nprojects:\n  - policy: a.yaml\n"));
        assertThat(c.backend()).isEqualTo(DaemonBackend.LOCAL);
    }

    @Test
    void load_kubernetes_kubeconfigRelativeToTheFile_orInCluster() throws Exception {
        DaemonConfig c = DaemonConfig.load(write("version: 1\nbackend: kubernetes\nkubernetes:\n  kubeconfig: kube/config\n  namespace: airlock\n"
                + "  gatewayImage: reg/airlock:1\n  agentImage: reg/devbox:1\nprojects:\n  - policy: a.yaml\n"));
        assertThat(c.backend()).isEqualTo(new DaemonBackend.Kubernetes(Optional.of(dir.resolve("kube/config")), "airlock", "reg/airlock:1", "reg/devbox:1"));

        DaemonConfig pod = DaemonConfig.load(write("version: 1\nbackend: kubernetes\nkubernetes: { inCluster: true, namespace: ns,"
                + " gatewayImage: g, agentImage: a }\nprojects:\n  - policy: a.yaml\n"));
        assertThat(((DaemonBackend.Kubernetes) pod.backend()).inCluster()).isTrue();
        assertThat(((DaemonBackend.Kubernetes) pod.backend()).podCidr()).isEmpty();
        DaemonConfig withPods = DaemonConfig.load(write("version: 1\nbackend: kubernetes\nkubernetes: { inCluster: true, namespace: ns,"
                + " gatewayImage: g, agentImage: a, podCidr: 10.244.0.0/16 }\nprojects:\n  - policy: a.yaml\n"));
        assertThat(((DaemonBackend.Kubernetes) withPods.backend()).podCidr()).contains("10.244.0.0/16");
    }

    @Test
    void load_kubernetesAuditIngest_bothKeysOrNeither() throws Exception {
        DaemonConfig c = DaemonConfig.load(write("version: 1\nbackend: kubernetes\nkubernetes: { inCluster: true, namespace: ns,"
                + " gatewayImage: g, agentImage: a, auditListen: 0.0.0.0:7071, auditUrl: 'https://airlock-daemon.ns.svc:7071/v1/audit/records' }\n"
                + "projects:\n  - policy: a.yaml\n"));
        DaemonBackend.AuditIngest a = ((DaemonBackend.Kubernetes) c.backend()).auditIngest().orElseThrow();
        assertThat(a.listen().getPort()).isEqualTo(7071);
        assertThat(a.url()).hasToString("https://airlock-daemon.ns.svc:7071/v1/audit/records");
        assertThat(a.tlsSecret()).as("no auditTls: the daemon's own CA").isEmpty();

        Path onlyListen = write("version: 1\nbackend: kubernetes\nkubernetes:\n  inCluster: true\n  namespace: ns\n  gatewayImage: g\n"
                + "  agentImage: a\n  auditListen: 0.0.0.0:7071\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(onlyListen)).hasMessageStartingWith(onlyListen + ":8:3: kubernetes: give both `auditListen`")
                .hasMessageContaining("Fix:");
        Path badUrl = write("version: 1\nbackend: kubernetes\nkubernetes:\n  inCluster: true\n  namespace: ns\n  gatewayImage: g\n"
                + "  agentImage: a\n  auditListen: 0.0.0.0:7071\n  auditUrl: daemon:7071\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(badUrl)).hasMessageStartingWith(badUrl + ":9:3: kubernetes.auditUrl 'daemon:7071' is not an https:// URL");
    }

    @Test
    void load_kubernetesAuditUrl_plainHttp_isRefusedWithTheFix() throws Exception {
        Path plain = write("version: 1\nbackend: kubernetes\nkubernetes:\n  inCluster: true\n  namespace: ns\n  gatewayImage: g\n"
                + "  agentImage: a\n  auditListen: 0.0.0.0:7071\n  auditUrl: http://airlock-daemon.ns.svc:7071/v1/audit/records\n"
                + "projects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(plain)).hasMessageStartingWith(plain + ":9:3: kubernetes.auditUrl"
                + " 'http://airlock-daemon.ns.svc:7071/v1/audit/records' is plain http").hasMessageContaining("unencrypted")
                .hasMessageContaining("Fix: write https://");
    }

    @Test
    void load_kubernetesAuditTls_namesTheSecret_orSaysWhatIsWrongWhere() throws Exception {
        String head = "version: 1\nbackend: kubernetes\nkubernetes:\n  inCluster: true\n  namespace: ns\n  gatewayImage: g\n"
                + "  agentImage: a\n  auditListen: 0.0.0.0:7071\n  auditUrl: https://airlock-daemon.ns.svc:7071/v1/audit/records\n";
        DaemonConfig c = DaemonConfig.load(write(head + "  auditTls:\n    secret: airlock-audit-ingest-tls\nprojects:\n  - policy: a.yaml\n"));
        assertThat(((DaemonBackend.Kubernetes) c.backend()).auditIngest().orElseThrow().tlsSecret()).contains("airlock-audit-ingest-tls");

        Path badName = write(head + "  auditTls:\n    secret: Not_A_Name\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(badName)).hasMessageStartingWith(badName + ":10:3: kubernetes.auditTls.secret 'Not_A_Name'"
                + " is not a Secret's name").hasMessageContaining("Fix: the name of a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt");
        Path unknownKey = write(head + "  auditTls:\n    issuer: ca\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(unknownKey)).hasMessageStartingWith(unknownKey + ":11:5: unknown key 'issuer'")
                .hasMessageContaining("[secret]");
    }

    @Test
    void load_kubernetesColdStartTimeout_secondsOrMinutes_default120s_elseFileLineColumnAndTheFix() throws Exception {
        String head = "version: 1\nbackend: kubernetes\nkubernetes:\n  inCluster: true\n  namespace: ns\n  gatewayImage: g\n  agentImage: a\n";
        String tail = "projects:\n  - policy: a.yaml\n";
        assertThat(((DaemonBackend.Kubernetes) DaemonConfig.load(write(head + tail)).backend()).coldStartTimeout()).isEqualTo(Duration.ofSeconds(120));
        assertThat(((DaemonBackend.Kubernetes) DaemonConfig.load(write(head + "  coldStartTimeout: 45s\n" + tail)).backend()).coldStartTimeout())
                .isEqualTo(Duration.ofSeconds(45));
        assertThat(((DaemonBackend.Kubernetes) DaemonConfig.load(write(head + "  coldStartTimeout: 5m\n" + tail)).backend()).coldStartTimeout())
                .isEqualTo(Duration.ofMinutes(5));
        for (String bad : List.of("0s", "2h", "90", "61m", "-5s", "soon")) {
            Path f = write(head + "  coldStartTimeout: " + bad + "\n" + tail);
            assertThatThrownBy(() -> DaemonConfig.load(f)).as(bad).hasMessageStartingWith(f + ":8:3: kubernetes.coldStartTimeout '" + bad + "'")
                    .hasMessageContaining("Fix: a number with s or m, e.g. `coldStartTimeout: 120s`");
        }
    }

    @Test
    void load_badBackend_namesFileLineColumnAndTheFix() throws Exception {
        Path unknown = write("version: 1\nbackend: k8s\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(unknown)).hasMessageStartingWith(unknown + ":2:1: backend 'k8s' is not known")
                .hasMessageContaining("Fix: write `backend: local`");
        Path noSection = write("version: 1\nbackend: kubernetes\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(noSection)).hasMessageStartingWith(noSection + ":2:1: `backend: kubernetes` needs a `kubernetes:` section");
        Path sectionWithoutBackend = write("version: 1\nkubernetes: { inCluster: true, namespace: ns, gatewayImage: g, agentImage: a }\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(sectionWithoutBackend)).hasMessageStartingWith(sectionWithoutBackend + ":2:1:")
                .hasMessageContaining("Fix: write `backend: kubernetes`");
    }

    @Test
    void load_badKubernetesSection_namesFileLineColumnAndTheFix() throws Exception {
        Path both = write("version: 1\nbackend: kubernetes\nkubernetes:\n  kubeconfig: c\n  inCluster: true\n  namespace: ns\n  gatewayImage: g\n"
                + "  agentImage: a\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(both)).hasMessageStartingWith(both + ":3:1: kubernetes: give exactly one of `kubeconfig: FILE` and `inCluster: true`");
        Path noImage = write("version: 1\nbackend: kubernetes\nkubernetes:\n  inCluster: true\n  namespace: ns\n  gatewayImage: g\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(noImage)).hasMessageStartingWith(noImage + ":3:1: kubernetes.agentImage is missing. Fix:");
        Path badNamespace = write("version: 1\nbackend: kubernetes\nkubernetes:\n  inCluster: true\n  namespace: Air_Lock\n  gatewayImage: g\n"
                + "  agentImage: a\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(badNamespace)).hasMessageStartingWith(badNamespace + ":5:3: kubernetes.namespace 'Air_Lock' is not an RFC 1123 label");
        Path badCidr = write("version: 1\nbackend: kubernetes\nkubernetes:\n  inCluster: true\n  namespace: ns\n  gatewayImage: g\n"
                + "  agentImage: a\n  podCidr: 10.244.0.0/33\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(badCidr)).hasMessageStartingWith(badCidr + ":8:3: kubernetes.podCidr '10.244.0.0/33' is not a CIDR");
        Path typo = write("version: 1\nbackend: kubernetes\nkubernetes:\n  inCluster: true\n  namespce: ns\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(typo)).hasMessageStartingWith(typo + ":5:3: unknown key 'namespce'").hasMessageContaining("namespace");
    }

    @Test
    void load_kubernetesImage_isTaggedWithThisAirlocksVersion() throws Exception {
        DaemonConfig c = DaemonConfig.load(write("version: 1\nbackend: kubernetes\nkubernetes:\n  inCluster: true\n  namespace: airlock\n"
                + "  image: registry.acme.dev:5000/team/airlock\n  agentImage: reg/devbox:1\nprojects:\n  - policy: a.yaml\n"));
        assertThat(((DaemonBackend.Kubernetes) c.backend()).gatewayImage()).isEqualTo("registry.acme.dev:5000/team/airlock:" + AirlockVersion.current());
        for (String local : new String[] {"localhost/airlock", "localhost:5000/airlock", "registry:5000/airlock"}) {
            DaemonConfig l = DaemonConfig.load(write("version: 1\nbackend: kubernetes\nkubernetes:\n  inCluster: true\n  namespace: airlock\n"
                    + "  image: " + local + "\n  agentImage: reg/devbox:1\nprojects:\n  - policy: a.yaml\n"));
            assertThat(((DaemonBackend.Kubernetes) l.backend()).gatewayImage()).isEqualTo(local + ":" + AirlockVersion.current());
        }
    }

    @Test
    void airlockVersion_isTheMavenProjectVersion_theTagOfTheBuiltImage() throws Exception {
        // scripts/build-oci-image.sh tags the image with the package's version, which is the reactor's <version>
        String pom = Files.readString(Path.of("..", "pom.xml"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("<artifactId>airlock-parent</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        assertThat(m.find()).as("the root pom's version").isTrue();
        assertThat(AirlockVersion.current()).isEqualTo(m.group(1));
    }

    @Test
    void load_kubernetesImageAndGatewayImage_exactlyOne_namesTheFix() throws Exception {
        Path both = write("version: 1\nbackend: kubernetes\nkubernetes:\n  inCluster: true\n  namespace: ns\n  image: reg.example/airlock\n"
                + "  gatewayImage: reg.example/airlock:1\n  agentImage: a\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(both)).hasMessageStartingWith(both + ":3:1: kubernetes: give exactly one of `image: REPOSITORY`")
                .hasMessageContaining("Fix: push the image scripts/build-oci-image.sh made");
        Path neither = write("version: 1\nbackend: kubernetes\nkubernetes:\n  inCluster: true\n  namespace: ns\n  agentImage: a\nprojects:\n  - policy: a.yaml\n");
        assertThatThrownBy(() -> DaemonConfig.load(neither)).hasMessageStartingWith(neither + ":3:1: kubernetes: give exactly one of `image: REPOSITORY`")
                .hasMessageContaining("write `image: REGISTRY/airlock`");
    }

    @Test
    void load_kubernetesImageWithTagDigestOrNoRegistry_isRefused() throws Exception {
        for (String image : new String[] {"reg.example/airlock:1", "reg.example/airlock@sha256:" + "0".repeat(64), "airlock", "team/airlock", "reg.example/Airlock"}) {
            Path f = write("version: 1\nbackend: kubernetes\nkubernetes:\n  inCluster: true\n  namespace: ns\n  image: \"" + image + "\"\n"
                    + "  agentImage: a\nprojects:\n  - policy: a.yaml\n");
            assertThatThrownBy(() -> DaemonConfig.load(f)).as(image).hasMessageStartingWith(f + ":6:3: kubernetes.image '" + image + "' is not a repository")
                    .hasMessageContaining("Fix: e.g. `image: registry.acme.dev/airlock`");
        }
    }
}
