package dev.airlock.sandbox;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything the launcher asks of the host: the privileged operations (a closed set,
 * {@link KernelOp}), the one privileged start of a sandboxed command, read-only views of the kernel
 * and of process liveness, and where machine-wide state lives.
 *
 * <p>{@link #system()} is the real host; tests pass a recording fake, so the launcher's sequences
 * run without root. An implementation executes the operations of one call in order, and stops at
 * the first failure with a {@link SandboxException} naming the command and its stderr.
 */
public interface KernelOps {

    /** Executes {@code ops} in order. Every operation's preconditions are checked before any runs. */
    void execute(List<KernelOp> ops) throws SandboxException;

    default void execute(KernelOp op) throws SandboxException {
        execute(List.of(op));
    }

    /** Starts a sandboxed command (see {@link Launch}); its preconditions are checked first. */
    Process start(Launch launch) throws SandboxException;

    /** What the kernel holds now (for the reaper). */
    KernelInventory inventory() throws SandboxException;

    /** Where sandbox cgroups live on this host. */
    CgroupLayout cgroups();

    /**
     * The machine-wide directory every launcher on this host shares: the lock, the leases that say
     * which process owns which sandbox, and each sandbox's generated /etc files. On tmpfs
     * ({@code /run}), so that it is lost exactly when the kernel objects are: at reboot.
     */
    Path runDir();

    /** This process, as an {@link Owner}. */
    Owner self();

    /** True when {@code owner} is a running process: same PID, same start time. */
    boolean alive(Owner owner);

    /** The real host: binaries resolved once, the cgroup layout detected, state under /run/airlock/sandbox. */
    static KernelOps system() throws SandboxException {
        return SystemKernelOps.create();
    }
}
