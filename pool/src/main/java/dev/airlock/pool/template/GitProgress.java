package dev.airlock.pool.template;

import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns {@code git clone --progress} / {@code git fetch --progress} stderr into
 * {@link ProgressSink#transfer} calls. git redraws its lines with {@code \r}, and a chunk of
 * stderr may end in the middle of one, so text is buffered up to the next {@code \r} or
 * {@code \n}. Lines look like {@code "Receiving objects:  45% (450/1000), 1.2 MiB | 3 MiB/s"}
 * (a {@code "remote: "} prefix when the server counts).
 */
final class GitProgress implements Consumer<String> {

    private static final Pattern LINE = Pattern.compile("^(?:remote: )?([A-Za-z][A-Za-z ]+):\\s+(\\d{1,3})%");

    private final ProgressSink sink;
    private final StringBuilder pending = new StringBuilder();

    GitProgress(ProgressSink sink) {
        this.sink = sink;
    }

    @Override
    public void accept(String chunk) {
        for (int i = 0; i < chunk.length(); i++) {
            char c = chunk.charAt(i);
            if (c == '\r' || c == '\n') {
                line(pending.toString());
                pending.setLength(0);
            } else {
                pending.append(c);
            }
        }
    }

    private void line(String l) {
        Matcher m = LINE.matcher(l.strip());
        if (m.find()) {
            sink.transfer(m.group(1).strip(), Integer.parseInt(m.group(2)));
        }
    }
}
