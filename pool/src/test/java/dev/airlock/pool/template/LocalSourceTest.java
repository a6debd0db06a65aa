package dev.airlock.pool.template;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class LocalSourceTest {

    @Test
    void path_pathsAndFileUrls_areLocal() {
        assertThat(LocalSource.path("/srv/git/app")).contains(Path.of("/srv/git/app"));
        assertThat(LocalSource.path("/srv/git/app/../app2/")).contains(Path.of("/srv/git/app2"));
        assertThat(LocalSource.path("file:///srv/git/app")).contains(Path.of("/srv/git/app"));
        assertThat(LocalSource.path("repos/app")).contains(Path.of("repos/app").toAbsolutePath());
    }

    @Test
    void path_urlsAndScpLikeAddresses_areNotLocal() {
        assertThat(LocalSource.path("https://git.example.invalid/app.git")).isEmpty();
        assertThat(LocalSource.path("ssh://git@git.example.invalid/app.git")).isEmpty();
        assertThat(LocalSource.path("git@git.example.invalid:team/app.git")).isEmpty();
        assertThat(LocalSource.path("host:app")).isEmpty();
    }

    @Test
    void uploadPack_trustsExactlyThatRepository_asBareOrWorkTree() {
        assertThat(LocalSource.uploadPack(Path.of("/usr/bin/git"), Path.of("/nonexistent-airlock/app")))
                .isEqualTo("'/usr/bin/git' -c 'safe.directory=/nonexistent-airlock/app' -c 'safe.directory=/nonexistent-airlock/app/.git'"
                        + " upload-pack");
    }

    @Test
    void quote_aQuoteInAPath_staysOneWord() {
        assertThat(LocalSource.quote("/srv/it's; rm -rf /")).isEqualTo("'/srv/it'\\''s; rm -rf /'");
    }
}
