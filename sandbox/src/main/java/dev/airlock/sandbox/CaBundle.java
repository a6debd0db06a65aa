package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The sandbox's one CA bundle: the host's system bundle followed by the sandbox's own
 * {@link TrustBundle}, generated per sandbox and bound read-only at Debian's standard path, with
 * the variables common tools read pointing at it. One file for every tool: npm's {@code cafile}
 * replaces its CAs (Debian's /etc/npmrc sets it, which is why {@code NODE_EXTRA_CA_CERTS} alone
 * never reaches npm), pip, requests, curl and git take one bundle each, node adds to its own.
 */
final class CaBundle {

    /** Where Debian (and every tool's default there) looks for the system bundle. */
    static final String PATH_IN_SANDBOX = "/etc/ssl/certs/ca-certificates.crt";
    /** The generated file's name in the sandbox's run directory, beside its generated /etc files. */
    static final String FILE = "ca-certificates.crt";
    /** The host's system bundle, first found: Debian and Ubuntu, then Fedora and RHEL, then Alpine and BSD-style layouts. */
    static final List<Path> SYSTEM_BUNDLES = List.of(Path.of(PATH_IN_SANDBOX), Path.of("/etc/pki/tls/certs/ca-bundle.crt"),
            Path.of("/etc/ssl/cert.pem"));

    /**
     * The variables that point each tool at the bundle: OpenSSL and Python's ssl, requests, pip,
     * node (added to its built-in CAs), git, curl, and npm's {@code cafile} (over /etc/npmrc).
     */
    static final Map<String, String> ENVIRONMENT = environment();

    private CaBundle() {
    }

    private static Map<String, String> environment() {
        Map<String, String> env = new TreeMap<>();
        for (String name : List.of("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO",
                "CURL_CA_BUNDLE", "NPM_CONFIG_CAFILE")) {
            env.put(name, PATH_IN_SANDBOX);
        }
        return Map.copyOf(env);
    }

    /** The bundle's text: {@code system} (the host's bundle, possibly empty), then each extra CA on its own lines. */
    static String compose(String system, TrustBundle extra) {
        StringBuilder b = new StringBuilder(system);
        if (!system.isEmpty() && !system.endsWith("\n")) {
            b.append('\n');
        }
        for (String pem : extra.pems()) {
            b.append(pem.endsWith("\n") ? pem : pem + "\n");
        }
        return b.toString();
    }

    /** The host's system bundle, from the first of {@link #SYSTEM_BUNDLES} that exists; empty when none does. */
    static String systemBundle(List<Path> candidates) throws SandboxException {
        for (Path p : candidates) {
            if (Files.isRegularFile(p)) {
                try {
                    return Files.readString(p, StandardCharsets.ISO_8859_1);
                } catch (IOException e) {
                    throw new SandboxException("cannot read the host's CA bundle " + p + ": " + e.getMessage()
                            + ". Fix: make it readable for root (update-ca-certificates rebuilds it).", e);
                }
            }
        }
        return "";
    }
}
