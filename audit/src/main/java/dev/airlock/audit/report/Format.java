package dev.airlock.audit.report;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/** The report formats of {@code airlock audit --format}. */
public enum Format {
    JSON("report.json"), HTML("report.html"), MD("report.md");

    public final String fileName;

    Format(String fileName) {
        this.fileName = fileName;
    }

    /** Parses {@code json,html,md} (any order, any subset); names the bad one and the choices. */
    public static Set<Format> parse(String list) {
        Set<Format> out = EnumSet.noneOf(Format.class);
        for (String f : list.split(",")) {
            String t = f.strip().toLowerCase(Locale.ROOT);
            switch (t) {
                case "json" -> out.add(JSON);
                case "html" -> out.add(HTML);
                case "md", "markdown" -> out.add(MD);
                default -> throw new IllegalArgumentException("unknown report format '" + f.strip() + "'; write a list of json, html, md");
            }
        }
        return out;
    }
}
