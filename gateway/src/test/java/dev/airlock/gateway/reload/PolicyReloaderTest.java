package dev.airlock.gateway.reload;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.policy.Decision;
import dev.airlock.policy.EgressRequest;
import dev.airlock.policy.address.IpAddress;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyReloaderTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final SandboxRegistry registry = new SandboxRegistry();

    private static final String ALLOWS_A = "version: 1\nproject: demo\nnetwork:\n  allow: [a.test]\n";
    private static final String ALLOWS_B = "version: 1\nproject: demo\nnetwork:\n  allow: [b.test]\n";
    private static final List<IpAddress> PUBLIC = List.of(IpAddress.ipv4((198 << 24) | (18 << 16) | 10));

    private PolicyReloader reloader(Path policy) {
        return new PolicyReloader(policy, Optional.empty(), registry, List.of(), new SimpleMeterRegistry(),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private static boolean allows(Sandbox s, String host) {
        return s.engine().decide(EgressRequest.of(host, 443, PUBLIC)).allowed();
    }

    @Test
    void reload_validFile_swapsThePolicyOfEveryRegisteredSandbox() throws Exception {
        Path p = Files.writeString(dir.resolve("airlock.yaml"), ALLOWS_A);
        PolicyReloader r = reloader(p);
        Sandbox s = registry.register("s1", "demo", List.of(), r.loadInitial());
        assertThat(allows(s, "a.test")).isTrue();
        Files.writeString(p, ALLOWS_B);
        assertThat(r.reload()).isTrue();
        assertThat(allows(s, "a.test")).isFalse();
        assertThat(allows(s, "b.test")).isTrue();
    }

    @Test
    void reload_brokenFile_keepsTheOldPolicyAndRaisesTheAlert() throws Exception {
        Path p = Files.writeString(dir.resolve("airlock.yaml"), ALLOWS_A);
        PolicyReloader r = reloader(p);
        Sandbox s = registry.register("s1", "demo", List.of(), r.loadInitial());
        Files.writeString(p, "version: 1\nproject: demo\nnetwork:\n  allow: [\"*.com\"]\n");
        assertThat(r.reload()).isFalse();
        assertThat(allows(s, "a.test")).isTrue();
        assertThat(r.failureCount()).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("the old policy stays in force")
                .contains(p + ":4:11:");
    }

    @Test
    void reload_fileNamingAnotherProject_isRefused() throws Exception {
        Path p = Files.writeString(dir.resolve("airlock.yaml"), ALLOWS_A);
        PolicyReloader r = reloader(p);
        Sandbox s = registry.register("s1", "demo", List.of(), r.loadInitial());
        Files.writeString(p, ALLOWS_B.replace("project: demo", "project: other"));
        assertThat(r.reload()).isFalse();
        assertThat(allows(s, "a.test")).isTrue();
    }

    @Test
    void reload_duringLiveDecisions_everyDecisionIsWhollyOldOrWhollyNew() throws Exception {
        Path p = Files.writeString(dir.resolve("airlock.yaml"), ALLOWS_A);
        PolicyReloader r = reloader(p);
        Sandbox s = registry.register("s1", "demo", List.of(), r.loadInitial());
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger mixed = new AtomicInteger();
        AtomicInteger decisions = new AtomicInteger();
        Thread[] deciders = new Thread[2];
        for (int i = 0; i < deciders.length; i++) {
            deciders[i] = new Thread(() -> {
                while (!stop.get()) {
                    // One engine read per connection: both answers come from the same policy.
                    var engine = s.engine();
                    Decision a = engine.decide(EgressRequest.of("a.test", 443, PUBLIC));
                    Decision b = engine.decide(EgressRequest.of("b.test", 443, PUBLIC));
                    if (a.allowed() == b.allowed()) {
                        mixed.incrementAndGet();
                    }
                    decisions.incrementAndGet();
                }
            });
            deciders[i].start();
        }
        for (int i = 0; i < 50; i++) {
            Files.writeString(p, i % 2 == 0 ? ALLOWS_B : ALLOWS_A);
            assertThat(r.reload()).isTrue();
        }
        stop.set(true);
        for (Thread t : deciders) {
            t.join();
        }
        assertThat(decisions.get()).isPositive();
        assertThat(mixed.get()).isZero();
    }
}
