package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterPolicyWatchTest {

    @TempDir
    Path dir;

    @Test
    void check_reloadsOnlyTheProjectsWhoseFileOrTheOrgChanged() throws Exception {
        Path a = Files.writeString(dir.resolve("a.yaml"), "a1");
        Path b = Files.writeString(dir.resolve("b.yaml"), "b1");
        Path org = Files.writeString(dir.resolve("org.yaml"), "o1");
        List<String> reloaded = new ArrayList<>();
        ClusterPolicyWatch w = new ClusterPolicyWatch(Map.of("a", a, "b", b), Optional.of(org), reloaded::add);

        w.check();
        assertThat(reloaded).as("nothing changed since start").isEmpty();

        Files.writeString(a, "a2");
        w.check();
        assertThat(reloaded).containsExactly("a");
        assertThat(w.applied("a")).isEqualTo(1);
        assertThat(w.applied("b")).isZero();

        Files.writeString(org, "o2");
        w.check();
        assertThat(reloaded).containsExactlyInAnyOrder("a", "a", "b");
    }

    @Test
    void check_failedReload_isTheProblemUntilAChangeApplies() throws Exception {
        Path a = Files.writeString(dir.resolve("a.yaml"), "good");
        ClusterPolicyWatch w = new ClusterPolicyWatch(Map.of("a", a), Optional.empty(), project -> {
            if (Files.readString(a).contains("bogus")) {
                throw new IllegalStateException(a + ":2:3: unknown key 'bogus'");
            }
        });

        Files.writeString(a, "bogus");
        w.check();
        assertThat(w.problem("a")).contains(a + ":2:3: unknown key 'bogus'");
        assertThat(w.applied("a")).isZero();
        w.check();
        assertThat(w.problem("a")).as("unchanged: not retried, still reported").isPresent();

        Files.writeString(a, "fixed");
        w.check();
        assertThat(w.problem("a")).isEmpty();
        assertThat(w.applied("a")).isEqualTo(1);
    }
}
