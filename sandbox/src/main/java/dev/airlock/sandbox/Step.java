package dev.airlock.sandbox;

import java.nio.file.Path;
import java.util.List;

/**
 * What an authorized {@link KernelOp} becomes: the primitive actions {@link StepRunner} performs.
 * Only {@link KernelAuthorizer} creates them, after the operation passed its checks.
 */
sealed interface Step {

    /** One line of {@code ip -batch}; {@code target} (for deletions) is skipped when absent. */
    record Ip(String netns, String line, Path target) implements Step {
    }

    /** A command; a failure whose stderr contains {@code tolerated} counts as success. */
    record Exec(List<String> argv, String stdin, String tolerated) implements Step {
    }

    record Write(Path file, String value) implements Step {
    }

    record Mkdir(Path dir) implements Step {
    }

    record Rmdir(Path dir) implements Step {
    }

    record EnableCtl(Path root, List<String> controllers) implements Step {
    }

    record Kill(Path dir) implements Step {
    }

    record DropRule() implements Step {
    }

    record Mount(Path state, String id, Path lower, int uid, int gid) implements Step {
    }

    record Unmount(Path state, String id) implements Step {
    }

    /** A root overlay at {@code point}; writable (with {@code upper}, {@code work}, prepared for {@code uid:gid}) or, without, read-only over {@code lowers}. */
    record RootMount(Path point, List<Path> lowers, Path upper, Path work, int uid, int gid) implements Step {
    }

    record SealLayer(Path upper, Path work, Path layer) implements Step {
    }

    /** A tree removal; {@code keepMounts}: a member workspace, whose mount points are left and reported. */
    record RemoveTree(Path dir, boolean keepMounts) implements Step {
    }

    record OwnTree(Path dir, int uid, int gid) implements Step {
    }

    record NewWorkspace(Path dir, int uid, int gid) implements Step {
    }
}
