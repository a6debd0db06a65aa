package dev.airlock.gateway.resolve;

import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.Problem;
import dev.airlock.policy.model.SourcePosition;
import dev.airlock.policy.name.HostNames;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A hosts map in the {@code /etc/hosts} format that replaces the system resolver: air-gapped
 * sites and tests use it. Addresses must be canonical, names are canonicalised, and a bad line is
 * an error with {@code file:line:col} rather than silently skipped.
 */
public final class HostsFile implements Resolver {

    /** Hosts entries are static; the TTL only bounds how long a cache may keep them. */
    private static final Duration TTL = Duration.ofSeconds(60);

    private final Map<String, List<IpAddress>> byName;

    private HostsFile(Map<String, List<IpAddress>> byName) {
        this.byName = byName;
    }

    public static HostsFile load(Path path) throws PolicyException {
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new PolicyException(List.of(new Problem(SourcePosition.of(path.toString()), "does not exist",
                    "check the path given to --hosts")));
        } catch (IOException e) {
            throw new PolicyException(List.of(new Problem(SourcePosition.of(path.toString()),
                    "cannot be read: " + e.getMessage(), "check the file's permissions")));
        }
        return parse(path.toString(), text);
    }

    public static HostsFile parse(String file, String text) throws PolicyException {
        Map<String, List<IpAddress>> map = new LinkedHashMap<>();
        List<Problem> problems = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int hash = line.indexOf('#');
            String content = hash >= 0 ? line.substring(0, hash) : line;
            List<int[]> spans = fields(content);
            if (spans.isEmpty()) {
                continue;
            }
            int[] first = spans.get(0);
            String addrText = content.substring(first[0], first[1]);
            SourcePosition at = new SourcePosition(file, i + 1, first[0] + 1);
            if (!(IpLiterals.shape(addrText) instanceof IpLiterals.Canonical c)) {
                problems.add(new Problem(at, "\"" + addrText + "\" is not a canonical IP address",
                        "start the line with a dotted quad or RFC 5952 IPv6 address"));
                continue;
            }
            if (spans.size() == 1) {
                problems.add(new Problem(at, "address " + addrText + " has no names", "add names after the address"));
                continue;
            }
            for (int[] span : spans.subList(1, spans.size())) {
                String raw = content.substring(span[0], span[1]);
                if (!(HostNames.canonicalize(raw) instanceof HostNames.Canonical n)) {
                    problems.add(new Problem(new SourcePosition(file, i + 1, span[0] + 1),
                            "\"" + raw + "\" is not a valid host name", "write a DNS name such as api.example.com"));
                    continue;
                }
                List<IpAddress> list = map.computeIfAbsent(n.name(), k -> new ArrayList<>());
                if (!list.contains(c.address())) {
                    list.add(c.address());
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new PolicyException(problems);
        }
        Map<String, List<IpAddress>> frozen = new LinkedHashMap<>();
        map.forEach((k, v) -> frozen.put(k, List.copyOf(v)));
        return new HostsFile(Map.copyOf(frozen));
    }

    private static List<int[]> fields(String s) {
        List<int[]> out = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t' || s.charAt(i) == '\r')) {
                i++;
            }
            int start = i;
            while (i < s.length() && s.charAt(i) != ' ' && s.charAt(i) != '\t' && s.charAt(i) != '\r') {
                i++;
            }
            if (i > start) {
                out.add(new int[] {start, i});
            }
        }
        return out;
    }

    @Override
    public Resolution resolve(String canonicalName) {
        List<IpAddress> a = byName.get(canonicalName);
        if (a == null) {
            return new Resolution.Failure(Resolution.Kind.NXDOMAIN, canonicalName + " is not in the hosts map");
        }
        return new Resolution.Answer(a, List.of(), TTL);
    }

    public int size() {
        return byName.size();
    }
}
