package dev.airlock.server;

import dev.airlock.pool.sizing.HourOfWeek;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each project's pool by hour of the week, in the zone the auto-sizer uses: claims (warm, cold) and
 * the ready size sampled every minute. The dashboard plots it against the Erlang-B recommendation,
 * which is computed per hour of the week too. Bounded: 168 slots per configured project.
 */
final class WeeklyUsage {

    /** One project's week: per hour-of-week index, warm and cold claims and the mean ready size (NaN when not sampled). */
    record Week(long[] warm, long[] cold, double[] meanReady) {

        boolean hasClaims() {
            for (int i = 0; i < HourOfWeek.COUNT; i++) {
                if (warm[i] + cold[i] > 0) {
                    return true;
                }
            }
            return false;
        }
    }

    private final ZoneId zone;
    private final Map<String, long[][]> claims = new ConcurrentHashMap<>();
    private final Map<String, double[][]> ready = new ConcurrentHashMap<>();

    WeeklyUsage(ZoneId zone) {
        this.zone = zone;
    }

    void claim(String project, Instant time, boolean warm) {
        long[][] c = claims.computeIfAbsent(project, k -> new long[HourOfWeek.COUNT][2]);
        synchronized (c) {
            c[HourOfWeek.of(time, zone).index()][warm ? 0 : 1]++;
        }
    }

    void size(String project, Instant time, int readyMembers) {
        double[][] r = ready.computeIfAbsent(project, k -> new double[HourOfWeek.COUNT][2]);
        synchronized (r) {
            int i = HourOfWeek.of(time, zone).index();
            r[i][0] += readyMembers;
            r[i][1]++;
        }
    }

    Week week(String project) {
        long[] warm = new long[HourOfWeek.COUNT];
        long[] cold = new long[HourOfWeek.COUNT];
        double[] mean = new double[HourOfWeek.COUNT];
        long[][] c = claims.get(project);
        if (c != null) {
            synchronized (c) {
                for (int i = 0; i < HourOfWeek.COUNT; i++) {
                    warm[i] = c[i][0];
                    cold[i] = c[i][1];
                }
            }
        }
        double[][] r = ready.get(project);
        for (int i = 0; i < HourOfWeek.COUNT; i++) {
            mean[i] = Double.NaN;
        }
        if (r != null) {
            synchronized (r) {
                for (int i = 0; i < HourOfWeek.COUNT; i++) {
                    mean[i] = r[i][1] == 0 ? Double.NaN : r[i][0] / r[i][1];
                }
            }
        }
        return new Week(warm, cold, mean);
    }

    ZoneId zone() {
        return zone;
    }
}
