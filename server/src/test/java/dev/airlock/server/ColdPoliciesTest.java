package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.model.OrgPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon's cache of parsed unpooled policies: reused only while the file's content, its time and the parse's age allow. */
class ColdPoliciesTest {

    @TempDir
    Path tmp;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-07T12:00:00Z"));

    private Path policy(String project, FileTime modified) throws Exception {
        Path f = tmp.resolve("airlock.yaml");
        Files.writeString(f, "version: 1\nproject: " + project + "\nnetwork:\n  allow: [a.example.test]\n");
        Files.setLastModifiedTime(f, modified);
        return f;
    }

    @Test
    void project_unchangedFile_isParsedOnce() throws Exception {
        ColdPolicies p = new ColdPolicies(clock);
        Path f = policy("one", FileTime.fromMillis(1_000));
        assertThat(p.project(f).project()).isEqualTo("one");
        assertThat(p.project(f).project()).isEqualTo("one");
        assertThat(p.parses()).isEqualTo(1);
    }

    @Test
    void project_newContentWithTheSameTime_isParsedAgain() throws Exception {
        ColdPolicies p = new ColdPolicies(clock);
        p.project(policy("one", FileTime.fromMillis(1_000)));
        // an edit that kept the modification time (a restored backup, a coarse file system): the hash tells
        assertThat(p.project(policy("two", FileTime.fromMillis(1_000))).project()).isEqualTo("two");
        assertThat(p.parses()).isEqualTo(2);
    }

    @Test
    void project_sameContentWithANewTime_isParsedAgain() throws Exception {
        ColdPolicies p = new ColdPolicies(clock);
        p.project(policy("one", FileTime.fromMillis(1_000)));
        p.project(policy("one", FileTime.fromMillis(2_000)));
        assertThat(p.parses()).isEqualTo(2);
    }

    @Test
    void project_olderThanMaxAge_isParsedAgain() throws Exception {
        ColdPolicies p = new ColdPolicies(clock);
        Path f = policy("one", FileTime.fromMillis(1_000));
        p.project(f);
        clock.advance(ColdPolicies.MAX_AGE.minus(Duration.ofSeconds(1)));
        p.project(f);
        assertThat(p.parses()).as("just inside the age").isEqualTo(1);
        clock.advance(Duration.ofSeconds(1));
        p.project(f);
        assertThat(p.parses()).as("a trust: CA may have come into force").isEqualTo(2);
    }

    @Test
    void project_invalidFile_failsWithItsPosition_andIsNotCached() throws Exception {
        ColdPolicies p = new ColdPolicies(clock);
        Path f = tmp.resolve("airlock.yaml");
        Files.writeString(f, "version: 1\nproject: one\nnetwork:\n  allow: ['*']\n");
        assertThatThrownBy(() -> p.project(f)).isInstanceOf(PolicyException.class).hasMessageContaining("airlock.yaml:4");
        assertThatThrownBy(() -> p.project(f)).isInstanceOf(PolicyException.class);
    }

    @Test
    void org_none_isTheEmptyOrganisationPolicy() throws Exception {
        assertThat(new ColdPolicies(clock).org(Optional.empty())).isEqualTo(OrgPolicy.NONE);
    }
}
