package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditWorkDirsTest {

    @TempDir
    Path tmp;

    @Test
    void removeIfEmpty_lastAuditGone_removesTheArea_whileOneIsAtWork_keepsIt() throws Exception {
        Path state = Files.createDirectory(tmp.resolve("state"));
        Path one = AuditWorkDirs.create(state);
        Path two = AuditWorkDirs.create(state);
        Path area = AuditWorkDirs.root(state);
        assertThat(one.getParent()).isEqualTo(area);

        Files.delete(one);
        AuditWorkDirs.removeIfEmpty(state);
        assertThat(area).as("another audit's directory is still there").isDirectory();
        assertThat(two).isDirectory();

        Files.delete(two);
        AuditWorkDirs.removeIfEmpty(state);
        assertThat(area).as("nothing left beside the state directory").doesNotExist();

        // and the next audit makes it again
        assertThat(AuditWorkDirs.create(state)).isDirectory();
    }

    @Test
    void removeIfEmpty_aLinkWhereTheAreaGoes_isLeftAndItsTargetUntouched() throws Exception {
        Path state = Files.createDirectory(tmp.resolve("state"));
        Path target = Files.createDirectory(tmp.resolve("elsewhere"));
        Path area = Files.createSymbolicLink(AuditWorkDirs.root(state), target);

        AuditWorkDirs.removeIfEmpty(state);

        assertThat(Files.isSymbolicLink(area)).isTrue();
        assertThat(target).isDirectory();
        // control: the same call on a real empty area removes it
        Files.delete(area);
        Files.createDirectory(area);
        AuditWorkDirs.removeIfEmpty(state);
        assertThat(Files.exists(area, LinkOption.NOFOLLOW_LINKS)).isFalse();
    }
}
