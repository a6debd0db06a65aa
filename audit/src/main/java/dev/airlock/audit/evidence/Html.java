package dev.airlock.audit.evidence;

import java.util.List;

/** A small self-contained HTML page builder (inline CSS, escaped text). */
final class Html {

    private final StringBuilder b = new StringBuilder();

    Html(String title) {
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(title)).append("</title>\n<style>")
                .append("body{font:14px/1.45 system-ui,sans-serif;margin:2rem;max-width:1200px;color:#1d1d1f}")
                .append("h2{border-bottom:1px solid #ddd;margin-top:2rem}pre{background:#f6f8fa;padding:.6rem;overflow:auto;font-size:12px}")
                .append("table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:.3rem .5rem}th{background:#f6f8fa}")
                .append(".answer{border:2px solid;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}.answer h2{border:0;margin:0 0 .3rem}")
                .append(".answer.no{border-color:#1a7f37;background:#dafbe1}.answer.yes{border-color:#cf222e;background:#ffebe9}")
                .append(".answer.not-shown{border-color:#9a6700;background:#fff8c5}.answer .verdict{font-size:1.2rem;font-weight:700;margin:.2rem 0}")
                .append("</style></head><body>\n<h1>").append(esc(title)).append("</h1>\n");
    }

    /** The page's opening answer: a question, its verdict (styled by {@code cssClass}) and the evidence lines behind it. */
    void answer(String question, String cssClass, String verdict, List<String> evidence) {
        b.append("<section id=\"answer\" class=\"answer ").append(esc(cssClass)).append("\"><h2>").append(esc(question))
                .append("</h2><p class=\"verdict\">").append(esc(verdict)).append("</p>\n");
        list(evidence);
        b.append("</section>\n");
    }

    void h2(String s) {
        b.append("<h2>").append(esc(s)).append("</h2>\n");
    }

    void h3(String s) {
        b.append("<h3>").append(esc(s)).append("</h3>\n");
    }

    void p(String s) {
        b.append("<p>").append(esc(s)).append("</p>\n");
    }

    void pre(String s) {
        b.append("<pre>").append(esc(s)).append("</pre>\n");
    }

    void list(List<String> items) {
        b.append("<ul>\n");
        items.forEach(i -> b.append("<li>").append(esc(i)).append("</li>\n"));
        b.append("</ul>\n");
    }

    void link(String href, String text) {
        b.append("<p><a href=\"").append(esc(href)).append("\">").append(esc(text)).append("</a></p>\n");
    }

    void table(List<String> head, List<List<String>> rows) {
        b.append("<table><tr>");
        head.forEach(x -> b.append("<th>").append(esc(x)).append("</th>"));
        b.append("</tr>\n");
        for (List<String> r : rows) {
            b.append("<tr>");
            r.forEach(x -> b.append("<td>").append(esc(x)).append("</td>"));
            b.append("</tr>\n");
        }
        b.append("</table>\n");
    }

    String end() {
        return b.append("</body></html>\n").toString();
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
