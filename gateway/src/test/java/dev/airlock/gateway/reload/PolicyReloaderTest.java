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

    private static final String ALLOWS_A_AND_B = "version: 1\nproject: demo\nnetwork:\n  allow: [a.test, b.test]\n";
    private static final String BROKEN = "version: 1\nproject: demo\nnetwork:\n  allow: [\"*.com\"]\n";

    private final List<PolicyReloader.Loaded> applied = new java.util.ArrayList<>();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    /** A reloader as the daemon wires it: a guard, and a target that records what it was handed. */
    private PolicyReloader daemonStyle(Path policy, Optional<Path> org, PolicyReloader.Guard guard) {
        return new PolicyReloader(policy, org, List.of(), dev.airlock.policy.HostFacts.NONE, meters,
                new PrintStream(err, true, StandardCharsets.UTF_8), guard, applied::add);
    }

    private static boolean allows(PolicyReloader r, String host) {
        return r.current().decide(EgressRequest.of(host, 443, PUBLIC)).allowed();
    }

    @Test
    void reload_brokenProjectFile_stillAppliesAValidOrgChange_withTheProjectsLastGoodRules() throws Exception {
        Path p = Files.writeString(dir.resolve("airlock.yaml"), ALLOWS_A_AND_B);
        Path o = Files.writeString(dir.resolve("org.yaml"), "version: 1\n");
        PolicyReloader r = daemonStyle(p, Optional.of(o), Optional::empty);
        r.loadInitial();
        assertThat(allows(r, "b.test")).as("control: allowed before the change").isTrue();
        Files.writeString(p, BROKEN);
        Files.writeString(o, "version: 1\nproduction: [b.test]\n");

        assertThat(r.reload()).as("the organisation's change took effect").isTrue();

        assertThat(allows(r, "b.test")).as("the new production name is denied").isFalse();
        assertThat(allows(r, "a.test")).as("the project's last good rules stay").isTrue();
        assertThat(r.problem()).hasValueSatisfying(pr -> assertThat(pr).contains(p + ":4:11:").contains("fix"));
        assertThat(applied).singleElement().satisfies(l -> assertThat(l.project().allow()).hasSize(2));
    }

    @Test
    void reload_fixedFile_clearsTheProblem_andAppliesTheFix() throws Exception {
        Path p = Files.writeString(dir.resolve("airlock.yaml"), ALLOWS_A);
        PolicyReloader r = daemonStyle(p, Optional.empty(), Optional::empty);
        r.loadInitial();
        Files.writeString(p, BROKEN);
        assertThat(r.reload()).isFalse();
        assertThat(r.problem()).isPresent();
        assertThat(applied).isEmpty();

        Files.writeString(p, ALLOWS_B);
        assertThat(r.reload()).isTrue();

        assertThat(r.problem()).isEmpty();
        assertThat(allows(r, "b.test")).isTrue();
        assertThat(r.appliedCount()).isEqualTo(1);
        assertThat(meters.counter("airlock.policy.reloads", "project", "demo", "result", "failed").count()).isEqualTo(1);
        assertThat(meters.counter("airlock.policy.reloads", "project", "demo", "result", "applied").count()).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("the earlier problem is cleared");
    }

    @Test
    void reload_guardRefuses_keepsTheOldPolicy_andShowsWhy() throws Exception {
        Path p = Files.writeString(dir.resolve("airlock.yaml"), ALLOWS_A);
        PolicyReloader r = daemonStyle(p, Optional.empty(), () -> Optional.of(p + " lies in a workspace. Fix: move it"));
        r.loadInitial();
        Files.writeString(p, ALLOWS_B);

        assertThat(r.reload()).isFalse();

        assertThat(allows(r, "a.test")).isTrue();
        assertThat(allows(r, "b.test")).isFalse();
        assertThat(applied).isEmpty();
        assertThat(r.problem()).hasValueSatisfying(pr -> assertThat(pr).contains("lies in a workspace"));
    }

    @Test
    void reloadIfChanged_firstLookAfterInForce_appliesNothingWhenTheFilesAreAsLoaded() throws Exception {
        Path p = Files.writeString(dir.resolve("airlock.yaml"), ALLOWS_A);
        PolicyReloader r = daemonStyle(p, Optional.empty(), Optional::empty);
        var loaded = dev.airlock.policy.load.PolicyFiles.loadProject(p);
        r.inForce(loaded, dev.airlock.policy.model.OrgPolicy.NONE, dev.airlock.policy.PolicyEngine.compile(loaded,
                dev.airlock.policy.model.OrgPolicy.NONE, dev.airlock.policy.Phase.RUN, List.of()));

        assertThat(r.reloadIfChanged()).isFalse();
        assertThat(applied).isEmpty();
        assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();

        Files.writeString(p, ALLOWS_B);
        assertThat(r.reloadIfChanged()).isTrue();
        assertThat(applied).hasSize(1);
        assertThat(r.reloadIfChanged()).as("unchanged since").isFalse();
    }

    @Test
    void reload_targetRefuses_keepsTheOldEngine() throws Exception {
        Path p = Files.writeString(dir.resolve("airlock.yaml"), ALLOWS_A);
        PolicyReloader r = new PolicyReloader(p, Optional.empty(), List.of(), dev.airlock.policy.HostFacts.NONE, meters,
                new PrintStream(err, true, StandardCharsets.UTF_8), Optional::empty, l -> {
                    throw new dev.airlock.policy.load.PolicyException(List.of(new dev.airlock.policy.load.Problem(
                            new dev.airlock.policy.model.SourcePosition(p.toString(), 2, 3), "setup phase refused", "fix it")));
                });
        r.loadInitial();
        Files.writeString(p, ALLOWS_B);

        assertThat(r.reload()).isFalse();

        assertThat(allows(r, "a.test")).isTrue();
        assertThat(r.problem()).hasValueSatisfying(pr -> assertThat(pr).contains(p + ":2:3: setup phase refused"));
    }
}
