package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SandboxRecordTest {

    private static SandboxRecord record() {
        LinkRange r = LinkRange.DEFAULT;
        return new SandboxRecord("alk0123abcd", "payments", new Owner(4242, 123456789L), 7, r.slot(7), r.hostAddress(7), r.sandboxAddress(7),
                Path.of("/srv/a \"quoted\" \\ dir\n"), List.of(Path.of("/sys/fs/cgroup/alk0123abcd")), Path.of("/sys/fs/cgroup/alk0123abcd"),
                Path.of("/run/airlock/sandbox/alk0123abcd"), 1700000000000L);
    }

    @Test
    void json_roundTrips() {
        SandboxRecord r = record();
        assertThat(SandboxRecord.fromJson(r.toJson())).isEqualTo(r);
        assertThat(r.toJson()).contains("\"objects\": [\"netns alk0123abcd\"", "\"link\": \"100.96.0.28/30\"");
    }

    @Test
    void json_withAnOverlay_roundTrips_andNamesItAmongTheObjects() {
        SandboxRecord plain = record();
        SandboxRecord r = new SandboxRecord(plain.id(), plain.project(), plain.owner(), plain.slot(), plain.link(), plain.hostAddress(),
                plain.sandboxAddress(), Path.of("/var/lib/airlock/overlays/alk0123abcd"), plain.cgroups(), plain.primaryCgroup(),
                plain.runFiles(), plain.createdMillis(), java.util.Optional.of(new SandboxRecord.OverlayRef(Path.of("/var/lib/airlock"),
                        Path.of("/var/lib/airlock/templates/payments/0123456789ab-0123456789ab/tree"))));
        assertThat(SandboxRecord.fromJson(r.toJson())).isEqualTo(r);
        assertThat(r.toJson()).contains("\"overlayLower\": \"/var/lib/airlock/templates/payments/0123456789ab-0123456789ab/tree\"")
                .contains("overlay /var/lib/airlock/overlays/alk0123abcd");
        assertThat(SandboxRecord.fromJson(plain.toJson()).overlay()).isEmpty();
    }

    @Test
    void json_controlCharactersAreEscaped() {
        String text = FlatJson.write(Map.of("k", "a\u0001b\u001bc"));
        assertThat(text).contains("a\\u0001b\\u001bc").doesNotContain("\u001b");
        assertThat(FlatJson.parse(text)).containsEntry("k", "a\u0001b\u001bc");
    }

    @Test
    void json_malformedOrForeignRecords_areRefused() {
        for (String bad : List.of("", "{", "{\"a\": }", "{\"a\": 1} x", "{\"a\": 1, \"a\": 2}", "{\"a\": true}", "[1]",
                "{\"a\": \"\\q\"}")) {
            assertThatThrownBy(() -> FlatJson.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        String wrongId = record().toJson().replace("\"id\": \"alk0123abcd\"", "\"id\": \"eth0\"");
        assertThatThrownBy(() -> SandboxRecord.fromJson(wrongId)).hasMessageContaining("not a sandbox id");
        String future = record().toJson().replace("\"version\": 1", "\"version\": 2");
        assertThatThrownBy(() -> SandboxRecord.fromJson(future)).hasMessageContaining("version");
    }
}
