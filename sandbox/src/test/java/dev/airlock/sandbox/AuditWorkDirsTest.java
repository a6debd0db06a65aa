package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
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

    @Test
    void abandoned_aLeaseNoProcessHolds_isListed_whileAHeldLease_isNot() throws Exception {
        Path state = Files.createDirectory(tmp.resolve("state"));
        Path killed = AuditWorkDirs.create(state);
        Files.createFile(killed.resolveSibling(killed.getFileName() + ".lease")); // what a killed audit leaves: a lease, no lock
        Path running = AuditWorkDirs.create(state);
        try (AuditWorkDirs.Lease lease = AuditWorkDirs.hold(running)) {
            assertThat(AuditWorkDirs.abandoned(state, Instant.now())).containsExactly(killed);
        }
        assertThat(running.resolveSibling(running.getFileName() + ".lease")).as("closing the lease removes its file").doesNotExist();
    }

    @Test
    void abandoned_noLease_onlyOnceOlderThanAnHour() throws Exception {
        Path state = Files.createDirectory(tmp.resolve("state"));
        Path dir = AuditWorkDirs.create(state);
        Instant made = Files.getLastModifiedTime(dir).toInstant();

        assertThat(AuditWorkDirs.abandoned(state, made.plusSeconds(60))).as("an audit may not have taken its lease yet").isEmpty();
        assertThat(AuditWorkDirs.abandoned(state, made.plus(AuditWorkDirs.UNLEASED_GRACE).plusSeconds(1))).containsExactly(dir);
    }

    @Test
    void abandoned_listsNoLinkAndNoOtherName() throws Exception {
        Path state = Files.createDirectory(tmp.resolve("state"));
        Path old = AuditWorkDirs.create(state);
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minusSeconds(7200)));
        Path area = AuditWorkDirs.root(state);
        Path elsewhere = Files.createDirectory(tmp.resolve("elsewhere"));
        Files.setLastModifiedTime(elsewhere, FileTime.from(Instant.now().minusSeconds(7200)));
        Files.createSymbolicLink(area.resolve("a-0badf00d"), elsewhere);
        Files.createDirectory(area.resolve("a-notahexname"));

        assertThat(AuditWorkDirs.abandoned(state, Instant.now())).as("control: the real old one is listed").containsExactly(old);
    }
}
