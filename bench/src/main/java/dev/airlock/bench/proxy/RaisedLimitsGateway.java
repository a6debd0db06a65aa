package dev.airlock.bench.proxy;

import dev.airlock.gateway.proxy.GatewayLimits;
import dev.airlock.gateway.server.GatewayServer;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/**
 * The same {@link GatewayServer} that {@code airlock gateway} runs, with one difference: the
 * per-sandbox and total tunnel limits are raised to {@code tunnels}. {@code airlock gateway}
 * serves one sandbox and always uses {@link GatewayLimits#DEFAULT}, whose 512 tunnels per sandbox
 * stop the idle-tunnel measurement long before 10,000; this launcher exists only for that row.
 */
final class RaisedLimitsGateway {

    private RaisedLimitsGateway() {
    }

    static void run(Path policy, Optional<Path> org, Path hosts, InetSocketAddress listen, Path auditLog, int threads, int tunnels) throws Exception {
        GatewayLimits d = GatewayLimits.DEFAULT;
        GatewayLimits limits = new GatewayLimits(tunnels, tunnels, d.headerReadTimeout(), d.idleTimeout(), d.connectTimeout(),
                d.maxHeaderBytes(), d.maxResolutions());
        GatewayServer server = GatewayServer.start(new GatewayServer.Options(policy, org, Optional.of(hosts), listen,
                Optional.empty(), Optional.empty(), Optional.empty(), auditLog, false, List.of(), threads, limits), System.err);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "bench-gateway-stop"));
        System.err.println("airlock gateway (bench launcher, " + tunnels + " tunnels per sandbox)");
        server.endpoints().forEach(e -> System.err.println("  " + e));
        stopped.await();
    }
}
