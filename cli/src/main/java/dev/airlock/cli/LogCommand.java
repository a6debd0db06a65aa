package dev.airlock.cli;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditLogReader;
import dev.airlock.gateway.audit.AuditRecord;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Iterator;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "log",
        mixinStandardHelpOptions = true,
        description = {
            "Print the gateway's audit records, oldest first: one line per decision,",
            "and one per close of an allowed connection. Strings from the network were",
            "escaped when they were written: they cannot move the cursor, colour the",
            "terminal or forge a line."
        },
        subcommands = {LogVerifyCommand.class},
        footer = {"", "Columns: time (UTC), ALLOW|DENY|CLOSE, reason, sandbox/project, via,",
            "name:port, addresses, rule; a close line adds the bytes sent up and down",
            "and how long the connection lasted. Reasons are listed in the README.",
            "", "Examples:",
            "  airlock log --denied --since 1h",
            "  airlock log --project payments --json | jq -r .name",
            "  airlock log verify",
            "", "Exit codes: 0 printed (possibly nothing); 1 bad option, or the log",
            "cannot be read."})
final class LogCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    LogFileOption file;

    @Option(names = "--denied", description = "Only denied connections.")
    boolean denied;

    @Option(names = "--since", paramLabel = "WHEN", converter = LogSince.Converter.class,
            description = "Only records at or after WHEN: an age (30m, 1h, 2d) or an ISO-8601 time (UTC if no offset).")
    LogSince since;

    @Option(names = "--project", paramLabel = "PROJECT", description = "Only this project's records.")
    String project;

    @Option(names = "--json", description = "Print the matching records as they are in the log: one JSON object per line.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Optional<Path> log = file.readable(err);
        if (log.isEmpty()) {
            return ExitCodes.BAD_INPUT;
        }
        Instant from = since == null ? Instant.MIN : since.from(Instant.now());
        long read = 0;
        long printed = 0;
        try (Stream<AuditLogReader.Line> lines = AuditLogReader.lines(log.get())) {
            Iterator<AuditLogReader.Line> it = lines.iterator();
            while (it.hasNext()) {
                switch (it.next()) {
                    case AuditLogReader.Unreadable u ->
                        err.println("airlock: " + log.get() + ":" + u.number() + ": skipped: " + u.why()
                                + " (airlock log verify checks the whole file)");
                    case AuditLogReader.Entry e -> {
                        read++;
                        if (matches(e.record(), from)) {
                            out.println(json ? e.text() : human(e.record()));
                            printed++;
                        }
                    }
                }
            }
        } catch (IOException | UncheckedIOException e) {
            err.println("airlock: cannot read audit log " + log.get() + ": " + e.getMessage());
            return ExitCodes.BAD_INPUT;
        }
        if (printed == 0) {
            err.println("airlock: no matching records in " + log.get() + " (" + read + (read == 1 ? " record" : " records") + " read)");
        }
        return ExitCodes.OK;
    }

    private boolean matches(AuditRecord r, Instant from) {
        return (!denied || r.denied())
                && (project == null || project.equals(r.project()))
                && !r.time().isBefore(from);
    }

    /** One aligned line; the widths fit the common values, and a longer value only pushes the rest right. */
    static String human(AuditRecord r) {
        String decision = r.event() == AuditEvent.Event.CLOSE ? "CLOSE" : r.decision().code.toUpperCase(Locale.ROOT);
        String target = (r.name().indexOf(':') >= 0 ? "[" + r.name() + "]" : r.name()) + ":" + r.port();
        String addresses = r.addresses().isEmpty() ? "-" : String.join(",", r.addresses());
        String line = String.format(Locale.ROOT, "%-24s  %-5s  %-17s  %-20s  %-11s  %-32s  %-15s  %s",
                r.timeText(), decision, r.reason().code(), r.sandbox() + "/" + r.project(), r.via().code, target, addresses, r.rule());
        if (r.event() == AuditEvent.Event.CLOSE) {
            line += "  up " + r.bytesUp() + " B, down " + r.bytesDown() + " B, " + r.durationMs() + " ms";
        }
        if (r.origin().isPresent()) { // a gateway pod's record, forwarded into this chain: where it came from, and its seq there
            line += "  (from " + r.origin().get().source() + " #" + r.origin().get().seq() + ")";
        }
        return line.stripTrailing();
    }
}
