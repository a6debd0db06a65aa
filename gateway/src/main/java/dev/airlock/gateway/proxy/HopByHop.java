package dev.airlock.gateway.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Headers that never cross the proxy: hop-by-hop headers (RFC 9110 §7.6.1) and those named in
 * {@code Connection}, every {@code Proxy-*} header (a sandbox must not present another sandbox's
 * credentials upstream), and headers that try to choose Airlock's identity or mode
 * ({@code X-Airlock-*}) or an upstream proxy. Identity never comes from a header.
 */
final class HopByHop {

    private static final List<String> ALWAYS = List.of("connection", "keep-alive", "te", "trailer",
            "transfer-encoding", "upgrade", "proxy-connection", "x-upstream-proxy", "x-proxy-upstream", "x-forwarded-proxy");
    private static final List<String> PREFIXES = List.of("proxy-", "x-airlock-");

    private HopByHop() {
    }

    /**
     * Removes the headers in place. {@code transfer-encoding} is removed because Netty's codec
     * re-frames the body; {@code keepUpgrade} keeps {@code Upgrade} for a WebSocket or h2c request.
     */
    static void strip(HttpHeaders headers, boolean keepUpgrade) {
        List<String> named = new ArrayList<>();
        for (String value : headers.getAll(HttpHeaderNames.CONNECTION)) {
            for (String token : value.split(",")) {
                String t = token.trim().toLowerCase(Locale.ROOT);
                if (!t.isEmpty()) {
                    named.add(t);
                }
            }
        }
        String upgrade = keepUpgrade ? headers.get(HttpHeaderNames.UPGRADE) : null;
        List<String> remove = new ArrayList<>();
        for (Map.Entry<String, String> e : headers) {
            String n = e.getKey().toLowerCase(Locale.ROOT);
            if (ALWAYS.contains(n) || named.contains(n) || PREFIXES.stream().anyMatch(n::startsWith)) {
                remove.add(e.getKey());
            }
        }
        remove.forEach(headers::remove);
        if (upgrade != null) {
            headers.set(HttpHeaderNames.UPGRADE, upgrade);
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderNames.UPGRADE);
        }
    }
}
