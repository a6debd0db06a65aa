package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The primitive side effects {@link SystemKernelOps} performs once an operation has passed its
 * checks: run a command, touch a file, signal a process. Tests substitute a recorder to show that a
 * refused operation performs none of them.
 */
interface Host {

    /** What a command did. */
    record Result(List<String> argv, int exit, String out, String err) {
        boolean ok() {
            return exit == 0;
        }

        String describe() {
            return "`" + String.join(" ", argv) + "` exited " + exit + (err.isBlank() ? "" : ": " + err.strip());
        }
    }

    /** Runs {@code argv} (absolute path first) with {@code stdin}, to completion; bounded. */
    Result exec(List<String> argv, String stdin) throws SandboxException;

    /** Starts a long-running process. */
    Process start(ProcessBuilder pb) throws IOException;

    /** Writes {@code value} to an existing file (a sysctl or cgroup file), in one write. */
    void write(Path file, String value) throws IOException;

    String read(Path file) throws IOException;

    boolean exists(Path p);

    /** Names in {@code dir}; empty when it does not exist. */
    List<String> list(Path dir);

    void mkdir(Path dir) throws IOException;

    /** Removes an empty directory (or a cgroup); false when it did not exist. */
    boolean rmdir(Path dir) throws IOException;

    /** SIGKILL to {@code pid}. */
    void kill(long pid);

    /** Sleeps while waiting for the kernel (a cgroup emptying). */
    void pause(long millis);

    /** The path with every link resolved ({@link Path#toRealPath}). */
    Path realPath(Path p) throws IOException;

    /** Sets owner and group, without following a link. */
    void chown(Path p, int uid, int gid) throws IOException;

    /** Sets the permission bits ("rwx------" form). */
    void chmod(Path p, String mode) throws IOException;


    /**
     * Removes {@code dir} and everything in it, never following a link and never entering a mount
     * ({@link RootFiles#deleteTree}); nothing when absent.
     */
    void deleteTree(Path dir, boolean keepMounts) throws IOException;

    /** {@link RootFiles#chownTree}: {@code dir}'s tree to {@code uid:gid}, no link followed, refused over a mount. */
    void chownTree(Path dir, int uid, int gid) throws IOException;

    /** {@link RootFiles#createWorkspace}: a new directory, 0700, owned by {@code uid:gid}; an existing name fails. */
    void createWorkspace(Path dir, int uid, int gid) throws IOException;

    /** {@link RootLayerFiles#prepare}: the empty directory {@code upper} filled from {@code image} for {@code uid:gid}. */
    void prepareRootLayer(Path image, Path upper, int uid, int gid) throws IOException;

    /** {@link RootLayerFiles#seal}: {@code upper} made root's and inert and renamed to {@code layer}; {@code work} removed. */
    void sealRootLayer(Path upper, Path work, Path layer) throws IOException;
}
