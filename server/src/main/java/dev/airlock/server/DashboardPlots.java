package dev.airlock.server;

import dev.airlock.pool.sizing.HourOfWeek;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeSet;

/**
 * The dashboard's plots, drawn on the server as inline SVG (no script, no external asset). Every
 * data mark carries {@code data-value} and a {@code <title>} (the browser test counts the marks; a
 * person hovers them). A plot without data is not drawn: a sentence says there is none yet.
 */
final class DashboardPlots {

    private DashboardPlots() {
    }

    /** Slot width per hour of the week: 168 × 6 px plus the axis fits a 1400 px window. */
    private static final int SLOT = 6;
    private static final int LEFT = 44;
    private static final int WIDTH = LEFT + HourOfWeek.COUNT * SLOT + 10;
    private static final String[] REASON_COLOURS = {"#cf222e", "#bc4c00", "#8250df", "#0969da", "#1a7f37", "#9a6700", "#57606a"};

    /**
     * One project's week: claims per hour, the warm hit rate of the hours with claims, and the pool's
     * mean ready size against the Erlang-B recommendation (or the fixed size), as three bands.
     */
    static void week(StringBuilder h, String project, WeeklyUsage.Week w, Optional<int[]> recommended, Optional<Integer> fixedSize) {
        String id = "week-" + project;
        if (!w.hasClaims()) {
            h.append("<p id=\"").append(Dashboard.esc(id)).append("\" class=\"muted\">").append(Dashboard.esc(project))
                    .append(": no claims recorded yet, so nothing to plot by hour of the week</p>");
            return;
        }
        long maxClaims = 1;
        double maxSize = 1;
        for (int i = 0; i < HourOfWeek.COUNT; i++) {
            maxClaims = Math.max(maxClaims, w.warm()[i] + w.cold()[i]);
            if (!Double.isNaN(w.meanReady()[i])) {
                maxSize = Math.max(maxSize, w.meanReady()[i]);
            }
            if (recommended.isPresent()) {
                maxSize = Math.max(maxSize, recommended.get()[i]);
            }
        }
        if (fixedSize.isPresent()) {
            maxSize = Math.max(maxSize, fixedSize.get());
        }
        int band = 70;
        int gap = 22;
        int top1 = 14;
        int top2 = top1 + band + gap;
        int top3 = top2 + band + gap;
        int height = top3 + band + 28;
        h.append("<svg class=\"plot\" id=\"").append(Dashboard.esc(id)).append("\" width=\"").append(WIDTH).append("\" height=\"").append(height)
                .append("\" role=\"img\" aria-label=\"").append(Dashboard.esc(project)).append(": claims, warm hit rate and pool size by hour of the week\">");
        label(h, 0, top1 - 4, "claims per hour (max " + maxClaims + ")");
        label(h, 0, top2 - 4, "warm hit rate (0–100%)");
        label(h, 0, top3 - 4, "ready members (bars, mean) against " + (recommended.isPresent() ? "the Erlang-B recommendation (line)"
                : fixedSize.map(n -> "the fixed size " + n + " (line)").orElse("no recommendation yet")) + ", max " + fmt(maxSize));
        for (int i = 0; i < HourOfWeek.COUNT; i++) {
            String hour = new HourOfWeek(i).label();
            int x = LEFT + i * SLOT;
            long all = w.warm()[i] + w.cold()[i];
            if (all > 0) {
                bar(h, "claims", x, top1, band, (double) all / maxClaims, all, hour + ": " + all + " claims (" + w.warm()[i] + " warm)");
                double rate = (double) w.warm()[i] / all;
                bar(h, "hit-rate", x, top2, band, rate, rate, hour + ": " + String.format(Locale.ROOT, "%.0f%%", rate * 100) + " warm");
            }
            if (!Double.isNaN(w.meanReady()[i])) {
                bar(h, "ready", x, top3, band, w.meanReady()[i] / maxSize, w.meanReady()[i], hour + ": " + fmt(w.meanReady()[i]) + " ready on average");
            }
        }
        if (recommended.isPresent() || fixedSize.isPresent()) {
            StringBuilder pts = new StringBuilder();
            for (int i = 0; i < HourOfWeek.COUNT; i++) {
                int n = recommended.isPresent() ? recommended.get()[i] : fixedSize.get();
                double y = top3 + band - band * n / maxSize;
                pts.append(LEFT + i * SLOT).append(',').append(fmt(y)).append(' ').append(LEFT + (i + 1) * SLOT).append(',').append(fmt(y)).append(' ');
            }
            h.append("<polyline class=\"recommended\" fill=\"none\" stroke=\"#bc4c00\" stroke-width=\"2\" points=\"").append(pts.toString().strip())
                    .append("\"/>");
        }
        for (int d = 0; d < 7; d++) {
            int x = LEFT + d * 24 * SLOT;
            h.append("<line x1=\"").append(x).append("\" x2=\"").append(x).append("\" y1=\"").append(top1).append("\" y2=\"").append(top3 + band)
                    .append("\" stroke=\"#d0d7de\"/>");
            label(h, x + 2, top3 + band + 14, new HourOfWeek(d * 24).day().getDisplayName(java.time.format.TextStyle.SHORT, Locale.ENGLISH));
        }
        h.append("</svg>");
    }

    /** Denials per hour over the last {@code hours} hours, stacked by reason, with a legend. */
    static void denials(StringBuilder h, SortedMap<Long, Map<String, Long>> perHour, Instant now, int hours) {
        long last = now.getEpochSecond() / 3600;
        long first = last - hours + 1;
        SortedMap<Long, Map<String, Long>> shown = perHour.subMap(first, last + 1);
        if (shown.isEmpty()) {
            h.append("<p id=\"denials-plot\" class=\"muted\">no denials in the last ").append(hours).append(" hours</p>");
            return;
        }
        List<String> reasons = new ArrayList<>(new TreeSet<>(shown.values().stream().flatMap(m -> m.keySet().stream()).toList()));
        long max = shown.values().stream().mapToLong(m -> m.values().stream().mapToLong(Long::longValue).sum()).max().orElse(1);
        int slot = 20;
        int band = 120;
        int top = 14;
        int width = LEFT + hours * slot + 10;
        h.append("<svg class=\"plot\" id=\"denials-plot\" width=\"").append(width).append("\" height=\"").append(top + band + 44)
                .append("\" role=\"img\" aria-label=\"denials per hour by reason\">");
        label(h, 0, top - 4, "denials per hour (max " + max + "), last " + hours + " hours, UTC");
        for (long hour = first; hour <= last; hour++) {
            int x = LEFT + (int) (hour - first) * slot;
            Map<String, Long> m = shown.getOrDefault(hour, Map.of());
            double y = top + band;
            for (String reason : reasons) {
                long n = m.getOrDefault(reason, 0L);
                if (n == 0) {
                    continue;
                }
                double height = (double) band * n / max;
                y -= height;
                h.append("<rect data-value=\"").append(n).append("\" data-reason=\"").append(Dashboard.esc(reason)).append("\" x=\"").append(x)
                        .append("\" y=\"").append(fmt(y)).append("\" width=\"").append(slot - 3).append("\" height=\"").append(fmt(height))
                        .append("\" fill=\"").append(colour(reasons, reason)).append("\"><title>")
                        .append(String.format(Locale.ROOT, "%tR", Instant.ofEpochSecond(hour * 3600).atZone(java.time.ZoneOffset.UTC))).append(" UTC: ")
                        .append(n).append(' ').append(Dashboard.esc(reason)).append("</title></rect>");
            }
            if ((hour - first) % 6 == 0) {
                label(h, x, top + band + 14, String.format(Locale.ROOT, "%tR", Instant.ofEpochSecond(hour * 3600).atZone(java.time.ZoneOffset.UTC)));
            }
        }
        int lx = LEFT;
        for (String reason : reasons) {
            h.append("<rect x=\"").append(lx).append("\" y=\"").append(top + band + 24).append("\" width=\"10\" height=\"10\" fill=\"")
                    .append(colour(reasons, reason)).append("\"/>");
            label(h, lx + 14, top + band + 33, reason);
            lx += 24 + 7 * reason.length();
        }
        h.append("</svg>");
    }

    private static String colour(List<String> reasons, String reason) {
        return REASON_COLOURS[reasons.indexOf(reason) % REASON_COLOURS.length];
    }

    private static void bar(StringBuilder h, String cls, int x, int top, int band, double fraction, double value, String title) {
        double height = Math.max(1, band * Math.min(1, fraction));
        h.append("<rect class=\"").append(cls).append("\" data-value=\"").append(fmt(value)).append("\" x=\"").append(x).append("\" y=\"")
                .append(fmt(top + band - height)).append("\" width=\"").append(SLOT - 1).append("\" height=\"").append(fmt(height))
                .append("\"><title>").append(Dashboard.esc(title)).append("</title></rect>");
    }

    private static void label(StringBuilder h, int x, int y, String text) {
        h.append("<text x=\"").append(x).append("\" y=\"").append(y).append("\" font-size=\"11\" fill=\"#57606a\">").append(Dashboard.esc(text))
                .append("</text>");
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.2f", v);
    }
}
