package dev.airlock.pool.sizing;

/**
 * One pool size for one hour of the week and what it is expected to give.
 *
 * @param size        S, the pool size kept (ready plus refilling members)
 * @param hitRate     the expected warm hit rate, 1 − B(S, a); 1 when no claim is expected (none is missed)
 * @param idleMembers the expected number of ready, unclaimed members, S − a·(1 − B): also the idle
 *                    sandbox-hours per hour that this size costs
 */
public record Choice(int size, double hitRate, double idleMembers) {

    static Choice of(int size, double offeredLoad) {
        if (offeredLoad == 0) {
            return new Choice(size, 1.0, size);
        }
        double b = ErlangB.blocking(size, offeredLoad);
        return new Choice(size, 1.0 - b, size - offeredLoad * (1.0 - b));
    }
}
