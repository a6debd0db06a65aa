package dev.airlock.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditLog;
import dev.airlock.gateway.resolve.Resolvers;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.sandbox.LinkRange;
import dev.airlock.sandbox.LinkSafeFiles;
import dev.airlock.sandbox.Resources;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import dev.airlock.sandbox.TrustBundle;
import dev.airlock.sandbox.WorkspaceProtection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A company CA in {@code trust:} (issue 19 §1), with the real clients: git (dumb HTTP clone), npm
 * (install from a registry), pip (download from a simple index), curl and node, run inside
 * {@code airlock run} (cold) and in a pool member (the waiting init the daemon hands a command to) against a test HTTPS host whose certificate a private CA made here signed.
 * The same run without the CA in {@code trust:} is the control: every client then fails certificate
 * verification, and the test host logged no request (judged from its side). Clients missing from
 * the host's /usr/bin are named and left out; with {@code CI=true} a missing one fails the test.
 *
 * <pre>
 *  host namespace (the gateway dials)             netns alktr&lt;id&gt;
 *  alktr&lt;id&gt;a 198.18.119.1/24 ──────────────── alktr&lt;id&gt;b 198.18.119.10/24: HTTPS :443 (python3 ssl)
 * </pre>
 *
 * Names resolve through a hosts file (ca.test → 198.18.119.10), never system DNS. Needs root.
 */
class TrustedCaIT {

    private static final String HOST_SIDE = "198.18.119.1";
    private static final String TEST_HOST = "198.18.119.10";
    private static final String NAME = "ca.test";
    /** Each client, the check it must pass, and how it is found in /usr/bin. */
    private static final Map<String, String> CLIENTS = clients();

    @TempDir
    static Path tmp;
    static Path state;
    static Path hosts;
    static Path site;
    static String ns;
    static Process server;
    static Path serverLog;
    static List<String> present = new ArrayList<>();
    static int uid;
    static Path trusted;
    static Path untrusted;

    private static Map<String, String> clients() {
        Map<String, String> c = new LinkedHashMap<>();
        c.put("curl", "curl -sS -m 20 https://ca.test/hello.txt");
        c.put("node", "node -e \"require('https').get('https://ca.test/hello.txt', r => { let d = ''; r.on('data', x => d += x);"
                + " r.on('end', () => { console.log(d.trim()); process.exit(r.statusCode === 200 ? 0 : 1); }); })"
                + ".on('error', e => { console.log(e.code + ' ' + e.message); process.exit(1); })\"");
        c.put("git", "GIT_TERMINAL_PROMPT=0 git clone -q https://ca.test/repo.git /tmp/clone && cat /tmp/clone/README");
        c.put("npm", "npm install --no-audit --no-fund --fetch-retries=0 --fetch-timeout=20000 --registry=https://ca.test/npm/ demo-pkg"
                + " && cat node_modules/demo-pkg/index.js");
        c.put("pip", "python3 -m pip download --no-deps --no-cache-dir --disable-pip-version-check --retries 0 --timeout 20"
                + " --index-url https://ca.test/simple/ -d /tmp/dl demo-pkg && ls /tmp/dl");
        return c;
    }

    @BeforeAll
    static void setUp() throws Exception {
        String missing = null;
        try {
            SandboxLauncher.checkHost();
        } catch (SandboxException e) {
            missing = e.getMessage();
        }
        for (String tool : List.of("openssl", "python3", "git", "tar")) {
            if (missing == null && !Files.isExecutable(Path.of("/usr/bin", tool))) {
                missing = "the test host needs /usr/bin/" + tool;
            }
        }
        if (missing != null) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail("CA kernel test cannot run, and CI=true requires it: " + missing);
            }
            Assumptions.abort("CA kernel test skipped: " + missing + " (with CI=true this fails instead)");
        }
        for (String client : CLIENTS.keySet()) {
            boolean there = client.equals("pip") ? sh("/usr/bin/python3 -m pip --version").exit() == 0
                    : Files.isExecutable(Path.of("/usr/bin", client));
            if (there) {
                present.add(client);
            } else if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail(client + " is not in the host's /usr/bin, and CI=true requires every client to be tested");
            } else {
                System.err.println("TrustedCaIT: " + client + " is not in the host's /usr/bin; it is left out");
            }
        }
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        state = Files.createDirectories(tmp.resolve("state"));
        hosts = Files.writeString(tmp.resolve("hosts"), TEST_HOST + " " + NAME + "\n");
        String sudo = System.getenv("SUDO_UID");
        uid = sudo != null && sudo.matches("[1-9]\\d*") ? Integer.parseInt(sudo) : 65534;
        makeCaAndSite();
        startTestHost();
        Files.copy(tmp.resolve("pki/ca.pem"), Files.createDirectories(tmp.resolve("policy-trusted/certs")).resolve("company-ca.pem"));
        trusted = Files.writeString(tmp.resolve("policy-trusted/airlock.yaml"),
                "version: 1\nproject: trustit\nnetwork:\n  allow: [ca.test]\ntrust: [certs/company-ca.pem]\n");
        untrusted = Files.writeString(Files.createDirectories(tmp.resolve("policy-untrusted")).resolve("airlock.yaml"),
                "version: 1\nproject: trustit\nnetwork:\n  allow: [ca.test]\n");
    }

    /** A private CA (CA:TRUE), ca.test's certificate signed by it, and the site: a git repository, an npm registry, a pip index. */
    private static void makeCaAndSite() throws Exception {
        Path pki = Files.createDirectories(tmp.resolve("pki"));
        site = Files.createDirectories(tmp.resolve("site"));
        must(sh("""
                set -e
                cd %1$s
                openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 \
                  -subj '/CN=Airlock IT Private CA' -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign'
                openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout host.key -out host.csr -subj '/CN=ca.test'
                printf 'basicConstraints=CA:FALSE\\nsubjectAltName=DNS:ca.test\\nextendedKeyUsage=serverAuth\\n' > ext
                openssl x509 -req -in host.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out host.pem -days 2 -extfile ext
                cd %2$s
                echo 'hello from ca.test' > hello.txt
                export HOME=%1$s GIT_CONFIG_NOSYSTEM=1
                git init -q src && echo 'cloned from ca.test' > src/README
                git -C src add README && git -C src -c user.name=it -c user.email=it@ca.test commit -qm init
                git clone -q --bare src repo.git && git -C repo.git update-server-info && rm -rf src
                mkdir -p npm/demo-pkg/-/p/package simple/demo-pkg files
                echo '{"name":"demo-pkg","version":"1.0.0","main":"index.js"}' > npm/demo-pkg/-/p/package/package.json
                echo 'module.exports = "npm package from ca.test";' > npm/demo-pkg/-/p/package/index.js
                (cd npm/demo-pkg/-/p && tar czf ../demo-pkg-1.0.0.tgz package) && rm -rf npm/demo-pkg/-/p
                python3 - <<'PY'
                import base64, hashlib, json, zipfile
                tgz = open('npm/demo-pkg/-/demo-pkg-1.0.0.tgz', 'rb').read()
                packument = {"name": "demo-pkg", "dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": {"name": "demo-pkg",
                    "version": "1.0.0", "main": "index.js", "dist": {"tarball": "https://ca.test/npm/demo-pkg/-/demo-pkg-1.0.0.tgz",
                    "shasum": hashlib.sha1(tgz).hexdigest(),
                    "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()}}}}
                open('npm/demo-pkg/index.json', 'w').write(json.dumps(packument))
                whl = 'files/demo_pkg-1.0.0-py3-none-any.whl'
                with zipfile.ZipFile(whl, 'w') as z:
                    z.writestr('demo_pkg/__init__.py', '')
                    z.writestr('demo_pkg-1.0.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: demo-pkg\\nVersion: 1.0.0\\n')
                    z.writestr('demo_pkg-1.0.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: it\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')
                    z.writestr('demo_pkg-1.0.0.dist-info/RECORD', '')
                open('simple/demo-pkg/index.html', 'w').write('<html><body><a href="/files/demo_pkg-1.0.0-py3-none-any.whl">'
                    'demo_pkg-1.0.0-py3-none-any.whl</a></body></html>')
                PY
                chmod -R a+rX %2$s
                """.formatted(pki, site)));
        Files.writeString(tmp.resolve("server.py"), """
                import http.server, os, ssl, sys
                class Handler(http.server.SimpleHTTPRequestHandler):
                    def translate_path(self, path):
                        p = super().translate_path(path)
                        # the npm registry: /npm/<name> is the package document
                        return os.path.join(p, 'index.json') if os.path.isfile(os.path.join(p, 'index.json')) else p
                    def log_message(self, fmt, *args):
                        sys.stderr.write('REQUEST ' + (fmt %% args) + '\\n'); sys.stderr.flush()
                os.chdir(sys.argv[1])
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(sys.argv[2], sys.argv[3])
                httpd = http.server.ThreadingHTTPServer(('%s', 443), Handler)
                httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
                print('READY', flush=True)
                httpd.serve_forever()
                """.formatted(TEST_HOST));
    }

    private static void startTestHost() throws Exception {
        ns = "alktr" + HexFormat.of().toHexDigits((short) new SecureRandom().nextInt(1 << 16));
        String link = ns + "a";
        must(sh(String.join(" && ",
                "ip netns add " + ns,
                "ip link add " + link + " type veth peer name " + ns + "b netns " + ns,
                "sysctl -q -w net.ipv6.conf." + link + ".disable_ipv6=1",
                "ip addr add " + HOST_SIDE + "/24 dev " + link, "ip link set " + link + " up",
                "ip -n " + ns + " link set lo up", "ip -n " + ns + " addr add " + TEST_HOST + "/24 dev " + ns + "b",
                "ip -n " + ns + " link set " + ns + "b up")));
        // Before any traffic: the test host is reached through this test's own link, nowhere else.
        assertThat(sh("ip route get " + TEST_HOST).out()).contains("dev " + link + " ");
        serverLog = tmp.resolve("server.log");
        Path pki = tmp.resolve("pki");
        server = new ProcessBuilder("ip", "netns", "exec", ns, "/usr/bin/python3", tmp.resolve("server.py").toString(), site.toString(),
                pki.resolve("host.pem").toString(), pki.resolve("host.key").toString())
                .redirectError(ProcessBuilder.Redirect.appendTo(serverLog.toFile())).redirectOutput(tmp.resolve("server.out").toFile()).start();
        for (int i = 0; i < 100 && !Files.readString(tmp.resolve("server.out")).contains("READY"); i++) {
            Thread.sleep(100);
        }
        assertThat(tmp.resolve("server.out")).as("the test host started: " + Files.readString(serverLog)).content().contains("READY");
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (server != null) {
            server.destroy();
            if (!server.waitFor(5, TimeUnit.SECONDS)) {
                server.destroyForcibly();
            }
        }
        if (ns != null) {
            sh("ip netns del " + ns + "; ip link del " + ns + "a 2>/dev/null; true");
        }
    }

    @Test
    void run_privateCaInTrust_everyClientReachesTheHost_andWithoutItEveryOneFailsVerification() throws Exception {
        Assumptions.assumeFalse(present.isEmpty(), "no client of " + CLIENTS.keySet() + " is on this host");

        // Control: the same policy without trust: — each client refuses the host's certificate, and the host served nothing.
        Ran without = run(untrusted, "ws-untrusted");
        expectRefusedWithoutTheCa(without);
        Ran with = run(trusted, "ws-trusted");
        System.out.println("TrustedCaIT cold, clients " + present + "\nwithout the CA:\n" + without.output() + "with it:\n" + with.output());
        expectServedWithTheCa(with);
    }

    /** A project's CA file in its own workspace is read-only inside: a CA planted there would be trusted by the next run. */
    @Test
    void run_caFileInsideTheWorkspace_cannotBeReplacedFromInside_butItsSiblingCan() throws Exception {
        Path ws = Files.createDirectories(tmp.resolve("ws-readme"));
        Files.createDirectories(ws.resolve("certs"));
        Files.copy(tmp.resolve("pki/ca.pem"), ws.resolve("certs/company-ca.pem"));
        Files.copy(tmp.resolve("pki/ca.pem"), ws.resolve("certs/sibling.pem"));
        LinkSafeFiles.chownTree(ws, uid, uid);
        Path policy = Files.writeString(ws.resolve("airlock.yaml"), "version: 1\nproject: trustit\ntrust: [certs/company-ca.pem]\n");
        String before = Files.readString(ws.resolve("certs/company-ca.pem"));

        Ran r = runIn(policy, ws, "cat /workspace/certs/sibling.pem > /workspace/certs/company-ca.pem 2>/dev/null && echo replaced;"
                + " echo planted > /workspace/certs/sibling.pem && echo sibling written; true");

        assertThat(r.output()).as(r.toString()).contains("sibling written").doesNotContain("replaced");
        assertThat(ws.resolve("certs/company-ca.pem")).hasContent(before.strip());
        assertThat(ws.resolve("certs/sibling.pem")).hasContent("planted");
    }

    /** The pool's path: a member prepared ahead with its init waiting, the command handed over later (Standby). */
    @Test
    void poolMember_privateCaInTrust_everyClientReachesTheHost_andWithoutItEveryOneFailsVerification() throws Exception {
        Assumptions.assumeFalse(present.isEmpty(), "no client of " + CLIENTS.keySet() + " is on this host");
        ProjectPolicy policy = PolicyFiles.loadProject(trusted);
        PolicyEngine engine = PolicyEngine.compile(policy, OrgPolicy.NONE, Phase.RUN, List.of(LinkRange.DEFAULT.range()));
        try (AuditLog audit = AuditLog.open(tmp.resolve("pool-audit.log"), Clock.systemUTC());
                SandboxHost host = SandboxHost.start(new SandboxHost.Config(Files.createDirectories(tmp.resolve("state-pool")),
                        Resolvers.uncached(Optional.of(hosts)), audit, new SimpleMeterRegistry(), 1, "airlock.yaml"))) {
            Ran without = member(host, engine, policy.project(), TrustBundle.SYSTEM);
            expectRefusedWithoutTheCa(without);
            Ran with = member(host, engine, policy.project(), TrustBundle.of(policy.trust()));
            System.out.println("TrustedCaIT pooled, clients " + present + "\nwithout the CA:\n" + without.output() + "with it:\n"
                    + with.output());
            expectServedWithTheCa(with);
        }
    }

    /**
     * On an image (issue 20 §4): the test image has no /etc/ssl of its own, so the bundle there is
     * only the one Airlock binds; curl is the image's. Cold and pooled, with the seven variables, and
     * curl also with them unset (the bundle at Debian's path is what it finds by default). Control:
     * the same image without the CA in {@code trust:}, curl refuses and the test host served nothing.
     */
    @Test
    void run_onAnImage_privateCaInTrust_curlReachesTheHost_andWithoutItFailsVerification() throws Exception {
        Path trustedOnImage = onImage(trusted);
        Path untrustedOnImage = onImage(untrusted);

        Ran without = runIn(untrustedOnImage, workspace("ws-image-untrusted"), imageScript());
        assertThat(without.output()).as(without.toString()).contains("image-marker").doesNotContain("host-tool", "ca-in-bundle");
        for (String check : List.of("curl", "curl-by-default")) {
            assertThat(without.result(check)).as(check + " without the CA\n" + without).startsWith("fail").containsPattern("(?i)certificate|issuer");
        }
        assertThat(requests()).as("the test host served a request to a client that did not trust it").isEmpty();

        Ran with = runIn(trustedOnImage, workspace("ws-image-trusted"), imageScript());
        expectServedOnTheImage(with);

        ProjectPolicy policy = PolicyFiles.loadProject(trustedOnImage);
        PolicyEngine engine = PolicyEngine.compile(policy, OrgPolicy.NONE, Phase.RUN, List.of(LinkRange.DEFAULT.range()));
        try (AuditLog audit = AuditLog.open(tmp.resolve("pool-image-audit.log"), Clock.systemUTC());
                SandboxHost host = SandboxHost.start(new SandboxHost.Config(state, Resolvers.uncached(Optional.of(hosts)), audit,
                        new SimpleMeterRegistry(), 1, "airlock.yaml"))) {
            Path root = ProjectImage.unpack(host.launcher(), policy).orElseThrow().root();
            Path ws = host.launcher().memberWorkspace(policy.project());
            SandboxHost.Member m = host.prepare(policy.project(), engine, Resources.DEFAULT, ws, false, WorkspaceProtection.DEFAULT,
                    policy.trust(), Optional.of(root));
            try {
                Process p = host.start(m, List.of("/bin/bash", "-c", imageScript()), Map.of());
                p.getOutputStream().close();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
                expectServedOnTheImage(new Ran(p.waitFor(), err, out));
            } finally {
                host.destroy(m);
                host.launcher().discardMemberWorkspace(ws);
            }
        }
    }

    /**
     * What runs on the image: where it runs, the variables, whether the bundle holds the CA (a line of
     * its PEM), curl with the variables and without them.
     */
    private static String imageScript() throws IOException {
        return IMAGE_SCRIPT.formatted(Files.readAllLines(tmp.resolve("pki/ca.pem")).get(1));
    }

    private static final String IMAGE_SCRIPT = """
            check() { name=$1; shift; if out=$(sh -c "$*" 2>&1); then r=ok; else r=fail; fi
              echo "$name: $r $(printf %%s "$out" | tr '\\n' ' ' | cut -c1-600)"; }
            test -e /usr/share/airlock-test-image/marker && echo image-marker
            test -e /usr/bin/nsenter && echo host-tool
            for v in SSL_CERT_FILE REQUESTS_CA_BUNDLE PIP_CERT NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO CURL_CA_BUNDLE NPM_CONFIG_CAFILE; do
              echo "var $v=${!v:-unset}"
            done
            grep -qxF "%s" /etc/ssl/certs/ca-certificates.crt && echo ca-in-bundle
            check curl 'curl -sS -m 20 https://ca.test/hello.txt'
            check curl-by-default 'env -u CURL_CA_BUNDLE -u SSL_CERT_FILE curl -sS -m 20 https://ca.test/hello.txt'
            """;

    private static void expectServedOnTheImage(Ran with) throws IOException {
        assertThat(with.output()).as(with.toString()).contains("image-marker", "ca-in-bundle").doesNotContain("host-tool");
        for (String v : List.of("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO", "CURL_CA_BUNDLE",
                "NPM_CONFIG_CAFILE")) {
            assertThat(with.output()).as(with.toString()).contains("var " + v + "=/etc/ssl/certs/ca-certificates.crt\n");
        }
        for (String check : List.of("curl", "curl-by-default")) {
            assertThat(with.result(check)).as(check + " with the CA in trust:\n" + with).startsWith("ok").contains("hello from ca.test");
        }
        assertThat(requests()).as("requests the test host served").filteredOn(r -> r.contains("GET /hello.txt")).hasSize(2);
    }

    /** {@code policy} with {@code image:} naming the test image with curl (scripts/make-test-image.sh, IMAGE_EXTRAS=audit). */
    private static Path onImage(Path policy) throws Exception {
        Path layout = Path.of("target", "test-images", "devbox-tools").toAbsolutePath();
        Files.createDirectories(layout.getParent());
        ProcessBuilder make = new ProcessBuilder("../scripts/make-test-image.sh", layout.toString(), "tools").redirectErrorStream(true);
        make.environment().put("IMAGE_EXTRAS", "audit");
        Process p = make.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        Path images = policy.resolveSibling("images");
        if (!Files.exists(images, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Files.createSymbolicLink(images, layout.getParent());
        }
        return Files.writeString(policy.resolveSibling("image.yaml"), Files.readString(policy)
                + "image:\n  oci: images/devbox-tools\n  tag: tools\n");
    }

    private static Path workspace(String name) throws IOException {
        Path ws = Files.createDirectories(tmp.resolve(name));
        LinkSafeFiles.chownTree(ws, uid, uid);
        return ws;
    }

    private static Ran member(SandboxHost host, PolicyEngine engine, String project, TrustBundle trust) throws Exception {
        Path ws = host.launcher().memberWorkspace(project);
        SandboxHost.Member m = host.prepare(project, engine, Resources.DEFAULT, ws, WorkspaceProtection.DEFAULT, trust);
        try {
            Process p = host.start(m, List.of("/bin/bash", "-c", script()), Map.of());
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            return new Ran(p.waitFor(), err, out);
        } finally {
            host.destroy(m);
            host.launcher().discardMemberWorkspace(ws);
        }
    }

    private static void expectRefusedWithoutTheCa(Ran without) throws IOException {
        List<String> requestsWithout = requests();
        for (String client : present) {
            assertThat(without.result(client)).as(client + " without the CA\n" + without).startsWith("fail")
                    .containsPattern("(?i)certificate|issuer|CERT_");
        }
        assertThat(requestsWithout).as("the test host served a request to a client that did not trust it").isEmpty();
    }

    private static void expectServedWithTheCa(Ran with) throws IOException {
        for (String client : present) {
            assertThat(with.result(client)).as(client + " with the CA in trust:\n" + with).startsWith("ok");
        }
        assertThat(with.output()).contains("bundle=/etc/ssl/certs/ca-certificates.crt");
        List<String> served = requests();
        Map<String, String> expected = Map.of("curl", "GET /hello.txt", "node", "GET /hello.txt", "git", "GET /repo.git/info/refs",
                "npm", "GET /npm/demo-pkg/-/demo-pkg-1.0.0.tgz", "pip", "GET /files/demo_pkg-1.0.0-py3-none-any.whl");
        for (String client : present) {
            assertThat(served).as("requests the test host served").anyMatch(r -> r.contains(expected.get(client)));
        }
        if (present.contains("npm")) {
            assertThat(with.result("npm")).contains("npm package from ca.test");
        }
    }

    /** Every present client, each reporting "ok …" or "fail …" on a line of its own. */
    private static String script() {
        StringBuilder script = new StringBuilder("""
                check() { name=$1; shift; if out=$(sh -c "$*" 2>&1); then r=ok; else r=fail; fi
                  echo "$name: $r $(printf %s "$out" | tr '\\n' ' ' | cut -c1-600)"; }
                echo "bundle=$NPM_CONFIG_CAFILE"
                """);
        for (String client : present) {
            script.append("check ").append(client).append(" '").append(CLIENTS.get(client).replace("'", "'\\''")).append("'\n");
        }
        return script.toString();
    }

    /** One {@code airlock run} of {@link #script}. */
    private static Ran run(Path policy, String workspace) throws Exception {
        Path ws = Files.createDirectories(tmp.resolve(workspace));
        LinkSafeFiles.chownTree(ws, uid, uid);
        return runIn(policy, ws, script());
    }

    private static Ran runIn(Path policy, Path ws, String script) throws Exception {
        Path out = Files.createTempFile(tmp, "out", ".log");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = new SandboxRun(new PrintStream(err, true, StandardCharsets.UTF_8)).run(new SandboxRun.Options(policy, Optional.empty(),
                Optional.of(hosts), ws, Map.of(), Optional.empty(), List.of("/bin/bash", "-c", script), state, Phase.RUN,
                Optional.of(out)));
        return new Ran(exit, err.toString(StandardCharsets.UTF_8), Files.readString(out));
    }

    /** The requests the test host logged since the last call. */
    private static List<String> requests() throws IOException {
        List<String> lines = Files.readAllLines(serverLog).stream().filter(l -> l.contains("REQUEST ")).toList();
        Files.writeString(serverLog, "");
        return lines;
    }

    record Ran(int exit, String airlock, String output) {
        String result(String client) {
            return output.lines().filter(l -> l.startsWith(client + ": ")).map(l -> l.substring(client.length() + 2)).findFirst()
                    .orElse("(no line for " + client + ")");
        }
    }

    record Sh(int exit, String out) {
    }

    private static Sh sh(String script) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("/bin/bash", "-c", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Sh(p.waitFor(), out);
    }

    private static void must(Sh r) {
        assertThat(r.exit()).as(r.out()).isZero();
    }
}
