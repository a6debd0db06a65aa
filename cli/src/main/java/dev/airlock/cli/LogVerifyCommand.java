package dev.airlock.cli;

import dev.airlock.gateway.audit.AuditLogReader;
import dev.airlock.gateway.audit.ChainHead;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

@Command(name = "verify",
        mixinStandardHelpOptions = true,
        description = {
            "Check the audit log's hash chain.",
            "Every record must carry the hash of its own content, seq must count up",
            "from 1 without gaps, and each prev must be the hash of the record before.",
            "An edited byte, a deleted, duplicated or reordered line, and a cut-off",
            "last line are reported at the first line where the chain breaks, as",
            "file:line: why. Whole records cut from the end leave a shorter chain that",
            "still verifies: keep the head this command prints, and pass it back",
            "later with --anchor to detect that too.",
            "If <log>.torn exists (partial last lines that writers moved aside after",
            "an append was cut short), a warning names it and how many lines it holds."
        },
        footer = {"", "Exit codes: 0 intact; 1 broken, or the log cannot be read."})
final class LogVerifyCommand implements Callable<Integer> {

    /** DESIGN.md §2: verify exits 1 when the chain is broken. */
    static final int BROKEN = 1;

    @Spec
    CommandSpec spec;

    @Mixin
    LogFileOption file;

    @Option(names = "--anchor", paramLabel = "SEQ:HASH", converter = AnchorConverter.class,
            description = "A head printed by an earlier verify: the record with that seq must still exist with that hash.")
    ChainHead anchor;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Optional<Path> log = file.readable(err);
        if (log.isEmpty()) {
            return ExitCodes.BAD_INPUT;
        }
        AuditLogReader.Verification v;
        Optional<AuditLogReader.TornLines> torn;
        try {
            v = AuditLogReader.verify(log.get(), Optional.ofNullable(anchor));
            torn = AuditLogReader.tornLines(log.get());
        } catch (IOException e) {
            err.println("airlock: cannot read audit log " + log.get() + ": " + e.getMessage());
            return ExitCodes.BAD_INPUT;
        }
        if (v.firstBreak().isPresent()) {
            AuditLogReader.Break b = v.firstBreak().get();
            err.println(log.get() + ":" + b.line() + ": " + b.why());
            err.println(log.get() + ": broken; the " + records(v.records()) + " before line " + b.line() + " verify");
            torn.ifPresent(t -> err.println(tornWarning(t)));
            return BROKEN;
        }
        out.println(log.get() + ": intact, " + records(v.records()) + (anchor != null ? ", including the anchor " + anchor.seq() : ""));
        out.println("head " + v.head() + "  (to detect records removed from the end later: airlock log verify --anchor "
                + v.head() + ")");
        torn.ifPresent(t -> out.println(tornWarning(t)));
        return ExitCodes.OK;
    }

    /**
     * The chain can be intact while records were lost: a writer that found a partial last line
     * (an append cut short) moved it aside and continued. Say so, so "intact" is not read as "complete".
     */
    static String tornWarning(AuditLogReader.TornLines t) {
        return "warning: " + t.file() + " holds " + t.count() + " partial last line" + (t.count() == 1 ? "" : "s")
                + " that writers moved aside after an append was cut short (kill -9, crash, power cut); the records in"
                + " them are lost, and the chain continues from the last whole record (docs/audit-log.md, \"Crash mid-append\")";
    }

    private static String records(long n) {
        return n + (n == 1 ? " record" : " records");
    }

    static final class AnchorConverter implements ITypeConverter<ChainHead> {
        @Override
        public ChainHead convert(String value) {
            try {
                return ChainHead.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException("invalid anchor: " + e.getMessage());
            }
        }
    }
}
