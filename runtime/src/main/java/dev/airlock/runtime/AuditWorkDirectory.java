package dev.airlock.runtime;

import dev.airlock.sandbox.AuditWorkDirs;
import dev.airlock.sandbox.KernelOp;
import dev.airlock.sandbox.KernelOps;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import dev.airlock.sandbox.SandboxUser;
import java.io.IOException;
import java.nio.file.Path;

/**
 * One audit's work directory ({@link AuditWorkDirs}: {@code <state>-audits/a-<8 hex>}), where its
 * sandboxes write. Root re-owns trees in it and removes it only through the kernel's checked tree
 * operations ({@link KernelOp.ChownTree}, {@link KernelOp.DeleteTree}): never following a link a
 * sandbox planted, never crossing a mount. Close it once its sandboxes are gone.
 */
public final class AuditWorkDirectory implements AutoCloseable {

    private final KernelOps kernel;
    private final Path state;
    private final Path dir;
    private final AuditWorkDirs.Lease lease;

    private AuditWorkDirectory(KernelOps kernel, Path state, Path dir, AuditWorkDirs.Lease lease) {
        this.kernel = kernel;
        this.state = state;
        this.dir = dir;
        this.lease = lease;
    }

    /** A new work directory beside {@code stateDir}, its tree operations through {@code launcher}'s kernel. */
    public static AuditWorkDirectory create(SandboxLauncher launcher, Path stateDir) throws IOException {
        return create(launcher.kernel(), stateDir);
    }

    /** A new work directory beside {@code stateDir}, its tree operations through {@code kernel}. */
    public static AuditWorkDirectory create(KernelOps kernel, Path stateDir) throws IOException {
        Path state = stateDir.toAbsolutePath().normalize();
        Path dir = AuditWorkDirs.create(state);
        return new AuditWorkDirectory(kernel, state, dir, AuditWorkDirs.hold(dir));
    }

    /** The directory. */
    public Path path() {
        return dir;
    }

    /** Gives {@code tree} (in this directory) and everything in it to {@code user}. */
    public void giveTo(Path tree, SandboxUser user) throws SandboxException {
        kernel.execute(new KernelOp.ChownTree(state, tree, user.uid(), user.gid()));
    }

    /**
     * Removes the directory and everything in it, then its lease, and the area beside the state
     * directory when it is left empty. If the removal fails the lease is kept, so that
     * {@code airlock gc} removes the directory once this process is gone.
     */
    @Override
    public void close() throws SandboxException {
        kernel.execute(new KernelOp.DeleteTree(state, dir));
        try {
            lease.close();
        } catch (IOException e) {
            // the lock goes with this process; gc removes a lease file nobody holds
        }
        AuditWorkDirs.removeIfEmpty(state);
    }
}
