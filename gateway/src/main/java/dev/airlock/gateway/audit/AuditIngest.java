package dev.airlock.gateway.audit;

import dev.airlock.policy.Printable;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Takes the gateway pods' audit records into the daemon's one chain (backend kubernetes; the
 * sender is {@link AuditForwarder}, docs/audit-log.md "Forwarding"; the daemon serves it over HTTP).
 *
 * <p>Design. A batch is checked whole before anything is appended: the bearer token names the
 * project (each project's own Secret; compared in constant time); the source must be one of that
 * project's gateway pods by name (the prefix {@code sourcePrefix} gives: {@code airlock-P-gateway-}), so one project's token cannot write
 * as another project's pod; every line must be an intact record of that project (or of none,
 * {@code -}: a DNS query from an address the gateway does not know), and the records must continue
 * the source's chain from the last one this daemon holds. Records it already holds (a sender that
 * lost its cursor, or resent after a lost answer) are skipped by (source, seq); a record at the
 * held seq with another hash is a different chain under the same name and is refused. The rest is
 * appended, each with its {@link Origin}, and acknowledged only once written to the file. What the
 * daemon holds is read back from its own log at start, so a restart neither loses nor repeats.
 */
public final class AuditIngest {

    /** Records per request at most: the forwarder sends 128; more is not a gateway. */
    static final int MAX_RECORDS = 1000;
    /** How long an answer waits for the records to reach the file before it says to try again. */
    private static final Duration WRITE_WAIT = Duration.ofSeconds(10);

    /** What the daemon answers a batch. */
    public sealed interface Answer permits Accepted, Refused {
    }

    /** The source's last record the daemon now holds, and how many of the batch were new. */
    public record Accepted(ChainHead acknowledged, int appended) implements Answer {
    }

    /** Refused, nothing appended: the HTTP status, a reason code for the metric, and why with the fix. */
    public record Refused(int status, String reason, String why) implements Answer {
    }

    private final AuditLog log;
    private final Supplier<Map<String, String>> tokens;
    private final Function<String, String> sourcePrefix;
    private final Map<String, ChainHead> heads;
    private final MeterRegistry meters;

    private AuditIngest(AuditLog log, Supplier<Map<String, String>> tokens, Function<String, String> sourcePrefix, Map<String, ChainHead> heads,
            MeterRegistry meters) {
        this.log = log;
        this.tokens = tokens;
        this.sourcePrefix = sourcePrefix;
        this.heads = heads;
        this.meters = meters;
    }

    /**
     * Ingest into {@code log} (the daemon's chain, whose file is {@code file}), with the projects'
     * tokens from {@code tokens} (project to token); a project's sources are named {@code
     * sourcePrefix(project)…} (its gateway pods). Reads which records of each source the file holds
     * already. {@code meters} may be null.
     */
    public static AuditIngest open(AuditLog log, Path file, Supplier<Map<String, String>> tokens, Function<String, String> sourcePrefix,
            MeterRegistry meters) throws IOException {
        Map<String, ChainHead> heads = new HashMap<>();
        if (Files.exists(file)) {
            try (Stream<AuditLogReader.Line> lines = AuditLogReader.lines(file)) {
                lines.forEach(l -> {
                    if (l instanceof AuditLogReader.Entry e && e.record().origin().isPresent()) {
                        Origin o = e.record().origin().get();
                        heads.merge(o.source(), o.head(), (a, b) -> b.seq() > a.seq() ? b : a);
                    }
                });
            }
        }
        return new AuditIngest(log, tokens, sourcePrefix, heads, meters);
    }

    /** The last record of {@code source} the daemon holds ({@link ChainHead#EMPTY}: none). */
    public synchronized ChainHead head(String source) {
        return heads.getOrDefault(source, ChainHead.EMPTY);
    }

    /** Checks and appends one batch; {@code bearer} is the request's token. */
    public synchronized Answer accept(Optional<String> bearer, String source, List<String> lines) throws InterruptedException {
        Optional<String> project = bearer.flatMap(this::projectOf);
        if (project.isEmpty()) {
            return refuse(401, "token", "no project's audit token was presented (header Authorization: Bearer TOKEN)."
                    + " Fix: give the gateway the file of its project's Secret (--audit-token-file)");
        }
        String p = project.get();
        String prefix = sourcePrefix.apply(p);
        if (source == null || !source.startsWith(prefix) || !source.equals(Printable.escape(source)) || source.length() > 253) {
            return refuse(403, "source", "source '" + Printable.escape(String.valueOf(source)) + "' is not a gateway pod of project " + p
                    + " (its pods are named " + prefix + "…). Fix: run the gateway with --audit-source $(POD_NAME) in its Deployment");
        }
        if (lines == null || lines.isEmpty() || lines.size() > MAX_RECORDS) {
            return refuse(400, "batch", "a batch has 1 to " + MAX_RECORDS + " records");
        }
        ChainHead held = head(source);
        ChainHead expected = held;
        List<AuditRecord> fresh = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!(AuditLogReader.parseLine(i + 1, lines.get(i).getBytes(StandardCharsets.UTF_8)) instanceof AuditLogReader.Entry e)
                    || !e.hashMatches() || e.record().origin().isPresent()) {
                return refuse(400, "record", "record " + (i + 1) + " of the batch is not an intact record as a gateway writes it. Fix: airlock log verify"
                        + " --file on the gateway's log");
            }
            AuditRecord r = e.record();
            if (!r.project().equals(p) && !(r.project().equals("-") && r.sandbox().equals("-"))) {
                return refuse(403, "project", "record seq " + r.seq() + " is of project " + r.project() + ", and the token is project " + p
                        + "'s. Fix: each gateway forwards only its own project's records, with its own project's token");
            }
            if (r.seq() <= held.seq()) {
                if (r.seq() == held.seq() && !r.hash().equals(held.hash())) {
                    return refuse(409, "chain", "record seq " + r.seq() + " of " + source + " differs from the one the daemon holds (" + held
                            + "): a different chain under the same source. Fix: a gateway's log is not replaced while it forwards; a new pod is a new source");
                }
                continue; // held already: skipped, acknowledged below
            }
            if (r.seq() != expected.seq() + 1 || !r.prev().equals(expected.hash())) {
                return refuse(409, "chain", "record seq " + r.seq() + " of " + source + " does not continue the chain the daemon holds, which ends at "
                        + expected + ". Fix: send the records after it, in order");
            }
            fresh.add(r);
            expected = r.head();
        }
        int appended = 0;
        for (AuditRecord r : fresh) {
            if (!log.submitForwarded(r, new Origin(source, r.seq(), r.hash()))) {
                break;
            }
            heads.put(source, r.head());
            appended++;
        }
        count("airlock.audit.ingest.records", "result", "appended", appended);
        count("airlock.audit.ingest.records", "result", "duplicate", lines.size() - fresh.size());
        if (appended < fresh.size() && appended == 0) {
            return refuse(503, "unavailable", "the daemon's audit log takes no records now (" + (log.healthy() ? "its queue is full" : "it failed")
                    + "). The gateway keeps them and tries again");
        }
        if (!log.awaitWritten(WRITE_WAIT) || !log.healthy()) {
            return refuse(503, "unavailable", "the records were not written to the daemon's audit log in time. The gateway keeps them and tries again");
        }
        return new Accepted(head(source), appended);
    }

    private Optional<String> projectOf(String token) {
        byte[] presented = token.getBytes(StandardCharsets.UTF_8);
        String found = null;
        for (Map.Entry<String, String> e : tokens.get().entrySet()) {
            // every token compared in full, in constant time: the answer's timing says nothing about any of them
            if (MessageDigest.isEqual(presented, e.getValue().getBytes(StandardCharsets.UTF_8))) {
                found = e.getKey();
            }
        }
        return Optional.ofNullable(found);
    }

    private Refused refuse(int status, String reason, String why) {
        count("airlock.audit.ingest.refused", "reason", reason, 1);
        return new Refused(status, reason, why);
    }

    private void count(String name, String tag, String value, long n) {
        if (meters != null && n > 0) {
            Counter.builder(name).tag(tag, value).description(name.endsWith("refused")
                    ? "Batches of forwarded audit records the daemon refused, by reason"
                    : "Forwarded audit records: appended to the daemon's chain, or skipped as already held").register(meters).increment(n);
        }
    }
}
