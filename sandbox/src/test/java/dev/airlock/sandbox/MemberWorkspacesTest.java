package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A member's workspace, removed after the member: links the sandbox planted in it are removed, not followed. */
class MemberWorkspacesTest {

    @TempDir
    Path tmp;

    private Path member(String name, Path hostDir) throws Exception {
        return member(tmp.resolve(name), hostDir);
    }

    private static Path member(Path dir, Path hostDir) throws Exception {
        Path ws = Files.createDirectories(dir.resolve("sub"));
        Files.writeString(ws.resolve("own.txt"), "x");
        Files.createSymbolicLink(ws.resolve("to-host"), hostDir);
        return ws.getParent();
    }

    @Test
    void delete_plantedLinkToAHostDirectory_leavesTheHostDirectory() throws Exception {
        Path controlHost = Files.createDirectories(tmp.resolve("control-host"));
        Files.writeString(controlHost.resolve("keep.txt"), "host\n");
        Path control = member("w-control", controlHost);
        try (Stream<Path> s = Files.walk(control, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
        assertThat(controlHost.resolve("keep.txt")).as("positive control: a removal that follows links empties the host directory")
                .doesNotExist();

        Path host = Files.createDirectories(tmp.resolve("host"));
        Files.writeString(host.resolve("keep.txt"), "host\n");
        Path state = Files.createDirectories(tmp.resolve("state"));
        Path ws = member(MemberWorkspaces.newPath(state, "demo", "w-0123abcd"), host);
        FakeKernel.fileOps(tmp.resolve("run"), new CgroupLayout.Unified(FakeKernel.V2_ROOT)).execute(new KernelOp.DeleteTree(state, ws));
        assertThat(ws).doesNotExist();
        assertThat(host.resolve("keep.txt")).hasContent("host");
    }

    @Test
    void owned_onlyAMemberShapedDirectoryUnderTheStatesWorkspaceRoot() {
        Path state = tmp.resolve("state");
        Path root = MemberWorkspaces.root(state);
        assertThat(MemberWorkspaces.owned(state, root.resolve("payments/w-0123abcd"))).isTrue();
        assertThat(MemberWorkspaces.owned(state, root.resolve("payments/projects"))).as("not named like a member's").isFalse();
        assertThat(MemberWorkspaces.owned(state, tmp.resolve("elsewhere/payments/w-0123abcd"))).as("a user's directory elsewhere").isFalse();
        assertThat(MemberWorkspaces.owned(state, root.resolve("Payments!/w-0123abcd"))).as("not a project name").isFalse();
    }
    @Test
    void changes_emptyMemberWorkspace_isUntouched() throws Exception {
        Path ws = Files.createDirectories(MemberWorkspaces.newPath(tmp.resolve("state"), "demo", "w-0123abcd"));
        assertThat(MemberWorkspaces.changes(ws)).hasValueSatisfying(c -> assertThat(c.untouched()).isTrue());
    }

    @Test
    void changes_anythingWritten_isUnknownSoTheReleaseLooksInside() throws Exception {
        Path state = tmp.resolve("state");
        Path file = Files.createDirectories(MemberWorkspaces.newPath(state, "demo", "w-0123abcd"));
        Files.writeString(file.resolve("notes.txt"), "x");
        Path dotGit = Files.createDirectories(MemberWorkspaces.newPath(state, "demo", "w-4567cdef").resolve(".git")).getParent();
        Path link = Files.createDirectories(MemberWorkspaces.newPath(state, "demo", "w-89abcdef"));
        Files.createSymbolicLink(link.resolve("dangling"), tmp.resolve("nowhere"));
        assertThat(MemberWorkspaces.changes(file)).as("a file").isEmpty();
        assertThat(MemberWorkspaces.changes(dotGit)).as("a repository of its own").isEmpty();
        assertThat(MemberWorkspaces.changes(link)).as("a dangling link").isEmpty();
    }

    @Test
    void changes_aLinkInsteadOfTheDirectory_isUnknown() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Path state = tmp.resolve("state");
        Path ws = Files.createSymbolicLink(MemberWorkspaces.newPath(state, "demo", "w-0123abcd"), empty);
        assertThat(MemberWorkspaces.changes(empty)).as("positive control: the link's target alone is empty").isPresent();
        assertThat(MemberWorkspaces.changes(ws)).isEmpty();
    }
}
