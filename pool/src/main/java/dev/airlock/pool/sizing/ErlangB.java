package dev.airlock.pool.sizing;

/**
 * The Erlang-B formula: the probability that an arrival to a loss system with {@code S} servers and
 * offered load {@code a} (arrival rate times mean holding time, in erlangs) finds every server busy.
 *
 * <p>Computed with the recurrence B(0, a) = 1, B(k, a) = a·B(k−1, a) / (k + a·B(k−1, a)), which
 * involves no factorials or powers, stays within [0, 1] at every step and is stable for any S and a
 * (the closed form a^S/S! / Σ a^k/k! overflows a double near S = 170).
 */
public final class ErlangB {

    private ErlangB() {
    }

    /** B(servers, offeredLoad). */
    public static double blocking(int servers, double offeredLoad) {
        if (servers < 0) {
            throw new IllegalArgumentException("servers must be at least 0: " + servers);
        }
        if (!(offeredLoad >= 0) || Double.isInfinite(offeredLoad)) {
            throw new IllegalArgumentException("offered load must be a finite number at least 0: " + offeredLoad);
        }
        double b = 1.0;
        for (int k = 1; k <= servers; k++) {
            double ab = offeredLoad * b;
            b = ab / (k + ab);
        }
        return b;
    }

    /** The probability that an arrival finds a free server: 1 − B. In the pool model, the warm hit rate. */
    public static double hitRate(int servers, double offeredLoad) {
        return 1.0 - blocking(servers, offeredLoad);
    }

    /**
     * The mean number of busy servers, a·(1 − B) (the carried load: arrivals that get a server, times
     * the holding time, by Little's law).
     */
    public static double meanBusy(int servers, double offeredLoad) {
        return offeredLoad * hitRate(servers, offeredLoad);
    }
}
