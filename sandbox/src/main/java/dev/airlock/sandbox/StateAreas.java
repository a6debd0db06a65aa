package dev.airlock.sandbox;

import java.nio.file.Path;
import java.util.List;

/**
 * The directories of Airlock's state directory in which root removes or re-owns whole trees
 * ({@link KernelOp.DeleteTree}, {@link KernelOp.ChownTree}): template trees and their staging
 * directories, kept work, the image store's staging and unpacked images ({@link ImageStore}), and,
 * beside the state directory, the member workspaces and the audits' work directories ({@link AuditWorkDirs}). A tree operation
 * outside them is refused at the privileged point, whatever the caller meant.
 */
public final class StateAreas {

    /** Kept work: {@code <state>/kept}. */
    public static final String KEPT = "kept";

    private StateAreas() {
    }

    /** {@code <state>/kept}: work captured but not exported, root's alone. */
    public static Path kept(Path state) {
        return state.resolve(KEPT);
    }

    /** Every area of {@code state}; a tree operation's directory lies strictly below one of them. */
    static List<Path> of(Path state) {
        return List.of(Overlays.templates(state), state.resolve(Overlays.STAGING), kept(state), ImageStore.root(state),
                MemberWorkspaces.root(state), AuditWorkDirs.root(state));
    }
}
