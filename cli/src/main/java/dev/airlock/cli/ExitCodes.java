package dev.airlock.cli;

/** Exit codes of DESIGN.md §2, in one place. */
final class ExitCodes {

    static final int OK = 0;
    /** Invalid policy, invalid target, or a usage error. */
    static final int BAD_INPUT = 1;
    /** {@code policy explain}: the target is denied. */
    static final int DENIED = 3;
    /** {@code airlock run}: Airlock itself failed. */
    static final int AIRLOCK_ERROR = 125;

    private ExitCodes() {
    }
}
