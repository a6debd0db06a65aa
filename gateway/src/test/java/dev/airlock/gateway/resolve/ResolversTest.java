package dev.airlock.gateway.resolve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.load.PolicyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResolversTest {

    private static IpAddress ip(String s) {
        return ((IpLiterals.Canonical) IpLiterals.shape(s)).address();
    }

    private static Path hostsMap(Path dir) throws Exception {
        return Files.writeString(dir.resolve("hosts"), "198.18.0.10 api.example.test\n");
    }

    @Test
    void uncached_hostsMapGiven_answersFromTheMapWithoutCache(@TempDir Path dir) throws Exception {
        Resolver r = Resolvers.uncached(Optional.of(hostsMap(dir)));
        assertThat(r).isInstanceOf(HostsFile.class);
        assertThat(((Resolution.Answer) r.resolve("api.example.test")).addresses()).containsExactly(ip("198.18.0.10"));
        assertThat(r.resolve("other.example.test")).isInstanceOfSatisfying(Resolution.Failure.class,
                f -> assertThat(f.kind()).isEqualTo(Resolution.Kind.NXDOMAIN));
    }

    @Test
    void cached_hostsMapGiven_answersFromTheMapThroughTheCache(@TempDir Path dir) throws Exception {
        Resolver r = Resolvers.cached(Optional.of(hostsMap(dir)));
        assertThat(r).isInstanceOf(CachingResolver.class);
        assertThat(((Resolution.Answer) r.resolve("api.example.test")).addresses()).containsExactly(ip("198.18.0.10"));
    }

    @Test
    void uncached_noHostsMap_isSystemDnsWithTheOneTimeout() throws Exception {
        // Built only, never asked: tests do not use system DNS.
        Resolver r = Resolvers.uncached(Optional.empty());
        assertThat(r).isInstanceOfSatisfying(DnsResolver.class, d -> assertThat(d.timeout()).isEqualTo(Duration.ofSeconds(3)));
        assertThat(Resolvers.DNS_TIMEOUT).isEqualTo(Duration.ofSeconds(3));
    }

    @Test
    void cached_noHostsMap_isCachingResolver() throws Exception {
        assertThat(Resolvers.cached(Optional.empty())).isInstanceOf(CachingResolver.class);
    }

    @Test
    void cached_missingHostsMap_failsWithTheMapsError(@TempDir Path dir) {
        Path missing = dir.resolve("absent-hosts");
        assertThatThrownBy(() -> Resolvers.cached(Optional.of(missing)))
                .isInstanceOf(PolicyException.class).hasMessageContaining("absent-hosts");
        assertThatThrownBy(() -> Resolvers.uncached(Optional.of(missing)))
                .isInstanceOf(PolicyException.class).hasMessageContaining("absent-hosts");
    }
}
