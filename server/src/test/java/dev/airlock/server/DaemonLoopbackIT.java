package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pooled sandbox's own loopback (issue 18 d): a server the agent starts inside answers there with
 * the proxy variables set, because NO_PROXY covers loopback (merged with the caller's). Positive
 * control in the same run: with NO_PROXY emptied, curl asks the gateway, which refuses loopback.
 * Nothing leaves the sandbox's link.
 */
class DaemonLoopbackIT {

    @TempDir
    Path tmp;

    @BeforeAll
    static void root() {
        Root.require();
        if (!Files.isExecutable(Path.of("/usr/bin/python3"))) {
            String why = "daemon kernel test needs /usr/bin/python3 (apt-get install python3)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                org.junit.jupiter.api.Assertions.fail(why + ", and CI=true requires it");
            }
            org.junit.jupiter.api.Assumptions.abort(why + " (with CI=true this fails instead)");
        }
    }

    @Test
    void run_pooled_aServerOnTheSandboxsLoopback_answersWithTheProxySet() throws Exception {
        Path config = DaemonFixture.write(tmp, 1, 4);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "one sandbox warm");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            JsonNode last = c.run("daemon-it", List.of("/bin/bash", "-c", """
                    cd /tmp && echo served-inside > index.html
                    python3 -m http.server 8099 --bind 127.0.0.1 >/dev/null 2>&1 &
                    for i in $(seq 50); do curl -s -o /dev/null --noproxy '*' http://127.0.0.1:8099/ && break; sleep 0.1; done
                    echo "proxy=${HTTP_PROXY:+set} no_proxy=$no_proxy"
                    echo "direct=$(curl -s -m 5 http://127.0.0.1:8099/index.html)"
                    echo "via-gateway=$(NO_PROXY= no_proxy= curl -s -m 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:8099/index.html)"
                    kill %1
                    """), Map.of("no_proxy", "internal.test"), new ByteArrayInputStream(new byte[0]), out, err, n -> {
                    });
            String o = out.toString(StandardCharsets.UTF_8);
            assertThat(last.path("exit").asInt()).as(o + err).isZero();
            assertThat(o).contains("proxy=set no_proxy=internal.test,localhost,127.0.0.1,127.0.0.0/8,::1", "direct=served-inside",
                    "via-gateway=403");
        }
    }
}
