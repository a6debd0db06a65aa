package dev.airlock.audit.report;

/** Text into HTML and Markdown safely: every string of a report may come from the network or a file. */
final class Escape {

    private Escape() {
    }

    static String html(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c < 0x20 && c != '\n' && c != '\t' ? '.' : c);
            }
        }
        return b.toString();
    }

    /** One Markdown table cell: no pipes, no newlines, no HTML. */
    static String cell(String s) {
        return html(s).replace("|", "\\|").replace("\n", " ").replace("`", "'");
    }
}
