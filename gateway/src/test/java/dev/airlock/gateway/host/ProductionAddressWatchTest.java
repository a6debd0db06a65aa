package dev.airlock.gateway.host;

import static dev.airlock.gateway.host.HostAddressWatchTest.ip;
import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.resolve.Resolution;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProductionAddressWatchTest {

    /** A clock the test moves. */
    static final class MovingClock extends Clock {
        Instant now = Instant.parse("2026-12-07T00:00:00Z");

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private final MovingClock clock = new MovingClock();
    private final Map<String, Resolution> answers = new HashMap<>();
    private final List<String> lookups = new ArrayList<>();
    private final ByteArrayOutputStream logged = new ByteArrayOutputStream();

    private ProductionAddressWatch watch(String orgYaml) throws Exception {
        OrgPolicy org = PolicyFiles.parseOrg("org.yaml", orgYaml);
        return new ProductionAddressWatch(org.production(), name -> {
            lookups.add(name);
            return answers.getOrDefault(name, new Resolution.Failure(Resolution.Kind.NXDOMAIN, name));
        }, clock, new PrintStream(logged, true, StandardCharsets.UTF_8));
    }

    private static Resolution answer(Duration ttl, String... addresses) {
        return new Resolution.Answer(java.util.Arrays.stream(addresses).map(HostAddressWatchTest::ip).toList(), List.of(), ttl);
    }

    @Test
    void resolveAll_exactNamesOnly_v4AndV6_eachNamedByItsRule() throws Exception {
        answers.put("api.acme.test", answer(Duration.ofMinutes(5), "198.18.50.7", "2001:db8:50::7"));
        ProductionAddressWatch w = watch("version: 1\nproduction:\n  - api.acme.test\n  - \"*.prod.acme.test\"\n  - cidr: 10.20.0.0/16\n");
        w.resolveAll();
        assertThat(lookups).as("a wildcard cannot be enumerated; a CIDR needs no lookup").containsExactly("api.acme.test");
        assertThat(w.current().ruleFor(ip("198.18.50.7"))).hasValueSatisfying(r -> assertThat(r.describe()).isEqualTo("api.acme.test"));
        assertThat(w.current().ruleFor(ip("2001:db8:50::7"))).isPresent();
    }

    @Test
    void tick_resolvesAgainWhenTheTtlRunsOut_andKeepsWhatItSaw() throws Exception {
        answers.put("api.acme.test", answer(Duration.ofMinutes(5), "198.18.50.7"));
        ProductionAddressWatch w = watch("version: 1\nproduction: [api.acme.test]\n");
        w.resolveAll();
        clock.now = clock.now.plus(Duration.ofMinutes(4));
        w.tick();
        assertThat(lookups).as("not yet due").hasSize(1);
        answers.put("api.acme.test", answer(Duration.ofMinutes(5), "198.18.50.8"));
        clock.now = clock.now.plus(Duration.ofMinutes(1));
        w.tick();
        assertThat(lookups).hasSize(2);
        assertThat(w.current().ruleFor(ip("198.18.50.8"))).as("the new answer").isPresent();
        assertThat(w.current().ruleFor(ip("198.18.50.7"))).as("DNS rotates: the old one stays production for a while").isPresent();
        clock.now = clock.now.plus(Duration.ofHours(25));
        w.tick();
        assertThat(w.current().ruleFor(ip("198.18.50.7"))).as("not seen for a day: gone").isEmpty();
    }

    @Test
    void tick_failure_isLoggedRetriedAndOpensNothing() throws Exception {
        answers.put("api.acme.test", answer(Duration.ofSeconds(1), "198.18.50.7"));
        ProductionAddressWatch w = watch("version: 1\nproduction: [api.acme.test]\n");
        w.resolveAll();
        answers.put("api.acme.test", new Resolution.Failure(Resolution.Kind.SERVFAIL, "upstream down"));
        clock.now = clock.now.plus(ProductionAddressWatch.MIN_TTL);
        w.tick();
        assertThat(w.current().ruleFor(ip("198.18.50.7"))).as("a failure never removes an address").isPresent();
        assertThat(logged.toString(StandardCharsets.UTF_8)).contains("cannot resolve the production name api.acme.test");
        clock.now = clock.now.plus(Duration.ofSeconds(10));
        w.tick();
        assertThat(lookups).as("retried only after RETRY").hasSize(2);
        clock.now = clock.now.plus(ProductionAddressWatch.RETRY);
        w.tick();
        assertThat(lookups).hasSize(3);
    }

    @Test
    void tick_isBoundedInLookups() throws Exception {
        StringBuilder org = new StringBuilder("version: 1\nproduction:\n");
        for (int i = 0; i < 40; i++) {
            org.append("  - p").append(i).append(".acme.test\n");
        }
        ProductionAddressWatch w = watch(org.toString());
        w.tick();
        assertThat(lookups).hasSize(ProductionAddressWatch.LOOKUPS_PER_TICK);
    }

    @Test
    void following_aChangedList_resolvesNewNamesAtOnce_andKeepsWhatListedNamesShowed() throws Exception {
        answers.put("api.acme.test", answer(Duration.ofMinutes(5), "198.18.50.7"));
        ProductionAddressWatch w = watch("version: 1\nproduction: [api.acme.test]\n");
        w.resolveAll();
        answers.put("api.acme.test", answer(Duration.ofMinutes(5), "198.18.50.8"));
        answers.put("db.acme.test", answer(Duration.ofMinutes(5), "198.18.50.9"));
        OrgPolicy reloaded = PolicyFiles.parseOrg("org.yaml", "version: 1\nproduction: [api.acme.test, db.acme.test]\n");

        ProductionAddressWatch next = w.following(reloaded.production());

        assertThat(lookups).as("only the new name is looked up now; the listed one keeps its schedule")
                .containsExactly("api.acme.test", "db.acme.test");
        assertThat(next.current().ruleFor(ip("198.18.50.9"))).as("the new name's address is production at once").isPresent();
        assertThat(next.current().ruleFor(ip("198.18.50.7"))).as("a reload never forgets an address seen").isPresent();
    }

    @Test
    void following_aNameNoLongerListed_dropsItsAddresses() throws Exception {
        answers.put("api.acme.test", answer(Duration.ofMinutes(5), "198.18.50.7"));
        ProductionAddressWatch w = watch("version: 1\nproduction: [api.acme.test]\n");
        w.resolveAll();
        assertThat(w.current().ruleFor(ip("198.18.50.7"))).as("control: production before the change").isPresent();

        ProductionAddressWatch next = w.following(List.of());

        assertThat(next.current().ruleFor(ip("198.18.50.7"))).isEmpty();
    }
}
