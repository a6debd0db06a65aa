package dev.airlock.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.airlock.pool.warm.WarmPool;
import java.time.Duration;
import java.util.List;

/** The daemon's state as the API returns it (JSON), and as {@code airlock pool status} prints it. */
final class StatusView {

    private static final ObjectMapper JSON = new ObjectMapper();

    private StatusView() {
    }

    static ObjectNode status(Daemon d) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode projects = root.putArray("projects");
        for (Daemon.ProjectPool p : d.projects().values()) {
            WarmPool.Status s = p.pool().status();
            ObjectNode o = projects.addObject();
            o.put("project", s.project());
            o.put("desired", s.desired());
            o.put("ready", s.ready());
            o.put("warming", s.warming());
            o.put("inUse", s.inUse());
            o.put("sessions", d.sessions().stream().filter(x -> !x.oneShot && x.member.project().equals(s.project())).count());
            o.put("warmClaims", s.warmClaims());
            o.put("coldClaims", s.coldClaims());
            o.put("failedClaims", s.failedClaims());
            o.put("memberDeaths", s.memberDeaths());
            number(o, "warmHitRate", s.warmHitRate());
            number(o, "coldStartRate", s.coldStartRate());
            millis(o, "claimP50Ms", d.poolMetrics().claimQuantile(s.project(), 0.5));
            millis(o, "claimP99Ms", d.poolMetrics().claimQuantile(s.project(), 0.99));
            millis(o, "ageAtClaimP50Ms", d.poolMetrics().ageQuantile(s.project(), 0.5));
            o.put("sizing", p.config().size().isPresent() ? "fixed" : "auto");
            if (p.templates().isPresent()) {
                ProjectTemplates t = p.templates().get();
                try {
                    o.put("template", t.current().map(c -> c.id().toString()).orElse(null));
                } catch (dev.airlock.pool.template.TemplateException e) {
                    o.put("template", "unreadable: " + e.getMessage());
                }
                o.put("templateBehind", t.behind());
                o.put("templateFailure", t.lastFailure().orElse(null));
            }
            // the project's image (docs/images.md): the manifest digest its files name now, which the template id includes;
            // a status call asks no registry and builds nothing, so an unpinned tag or a Dockerfile shows none
            if (p.policy().image().isPresent()) {
                try {
                    o.put("image", dev.airlock.runtime.ProjectImage.knownDigest(p.policy()).orElse(null));
                } catch (dev.airlock.sandbox.SandboxException e) {
                    o.put("image", "unreadable: " + e.getMessage());
                }
            }
            // a policy file that does not load: the old policy stays in force until it is fixed
            o.put("policyError", d.reloads().flatMap(r -> r.problem(s.project())).orElse(null));
            o.put("policyReloads", d.reloads().map(r -> r.applied(s.project())).orElse(0L));
            if (s.lastFailure().isPresent()) {
                o.put("lastFailure", s.lastFailure().get());
                o.put("consecutiveFailures", s.consecutiveFailures());
            } else {
                o.putNull("lastFailure");
            }
        }
        root.set("coldRuns", coldRuns(d.cold().tally()));
        root.put("recoveredFromUncleanStop", d.recovered().size());
        return root;
    }

    static ArrayNode sandboxes(Daemon d) {
        ArrayNode out = JSON.createArrayNode();
        for (Daemon.Session s : d.sessions()) {
            out.add(session(claim(s).put("state", "claimed").put("claimedAt", s.claimed.toString()), s));
        }
        for (Daemon.ProjectPool p : d.projects().values()) {
            for (Daemon.PoolMember m : p.pool().members()) {
                if (!p.pool().inUse(m)) {
                    out.addObject().put("sandbox", m.id()).put("project", m.project()).put("state", "ready");
                }
            }
        }
        for (ColdRunTally.Entry e : d.cold().tally().live()) {
            out.add(coldRun(e));
        }
        for (WorkReturn.KeptView k : d.kept()) {
            out.add(kept(k));
        }
        return out;
    }

    /**
     * A run in progress of a policy the daemon does not pool (docs/daemon.md): state {@code
     * cold-run}, the caller's directory as {@code workspace}, the {@code policy} file, {@code
     * createdAt} as a session's, and {@code runAs} ({@code nobody} or the caller's {@code uid:gid}).
     */
    static ObjectNode coldRun(ColdRunTally.Entry e) {
        return JSON.createObjectNode().put("sandbox", e.id()).put("project", e.project()).put("state", "cold-run")
                .put("workspace", e.workspace().toString()).put("policy", e.policy()).put("createdAt", e.startedAt().toString())
                .put("runAs", e.runAs());
    }

    /**
     * The status's {@code coldRuns} section: runs of policies the daemon does not pool, which have
     * no pool and so no entry in {@code projects}: {@code running} now and {@code total} since the
     * daemon started, overall and per project.
     */
    static ObjectNode coldRuns(ColdRunTally t) {
        ObjectNode o = JSON.createObjectNode();
        List<ColdRunTally.Count> counts = t.counts();
        o.put("running", counts.stream().mapToLong(ColdRunTally.Count::running).sum());
        o.put("total", counts.stream().mapToLong(ColdRunTally.Count::total).sum());
        ArrayNode projects = o.putArray("projects");
        for (ColdRunTally.Count c : counts) {
            projects.addObject().put("project", c.project()).put("running", c.running()).put("total", c.total());
        }
        return o;
    }

    /** Work that was not exported: its sandbox id, project, where it is, until when, and why. */
    static ObjectNode kept(WorkReturn.KeptView k) {
        return JSON.createObjectNode().put("sandbox", k.id()).put("project", k.project()).put("state", "kept")
                .put("path", k.path().toString()).put("keptUntil", k.keptUntil().toString()).put("reason", k.reason())
                .put("held", k.sandbox());
    }

    /** What became of a sandbox's work (the export endpoint's answer, and a release's). */
    static ObjectNode work(WorkReturn.Outcome o) {
        ObjectNode n = JSON.createObjectNode().put("sandbox", o.id()).put("result", o.kind().name().toLowerCase(java.util.Locale.ROOT))
                .put("summary", o.summary());
        o.imported().ifPresent(i -> {
            n.put("repository", i.repository().toString());
            i.branch().ifPresent(b -> n.put("branch", b));
            i.patch().ifPresent(p -> n.put("patch", p.toString()));
        });
        o.kept().ifPresent(k -> n.put("path", k.path().toString()).put("keptUntil", k.keptUntil().toString()).put("reason", k.reason()));
        return n;
    }

    static ObjectNode claim(Daemon.Session s) {
        ObjectNode o = JSON.createObjectNode().put("sandbox", s.id()).put("project", s.member.project()).put("warm", s.warm)
                .put("claimMs", s.took.toNanos() / 1e6).put("address", s.member.sandbox().address());
        s.member.template().ifPresent(t -> {
            o.put("template", t.id().toString());
            // the branch as of the daemon's last check; the first command catches up (see behindAtStart)
            o.put("behind", s.pool.templates().map(ProjectTemplates::behind).orElse(0));
        });
        return o;
    }

    /**
     * A claimed sandbox's session fields: {@code kind} ({@code session}, or {@code run} for the
     * sandbox of one {@code airlock run}), {@code name} (null without one), {@code createdAt},
     * {@code lastActivity}, {@code running} (commands), {@code idleTimeout} (ISO-8601, null: never)
     * and {@code expiresAt} (null while a command runs or without a timeout).
     */
    static ObjectNode session(ObjectNode o, Daemon.Session s) {
        SessionActivity a = s.activity;
        o.put("kind", s.oneShot ? "run" : "session");
        o.put("name", s.name.orElse(null));
        o.put("createdAt", s.claimed.toString());
        o.put("lastActivity", a.lastActivity().toString());
        o.put("running", a.running());
        o.put("idleTimeout", a.timeout().after().map(Duration::toString).orElse(null));
        o.put("expiresAt", a.expiresAt().map(Object::toString).orElse(null));
        return o;
    }

    /** {@code v}, or null where there is no figure yet (NaN): the same on every backend's status. */
    static void number(ObjectNode o, String k, double v) {
        if (Double.isNaN(v)) {
            o.putNull(k);
        } else {
            o.put(k, v);
        }
    }

    /** {@code d} in milliseconds, or null where there is none. */
    static void millis(ObjectNode o, String k, Duration d) {
        if (d == null) {
            o.putNull(k);
        } else {
            o.put(k, d.toNanos() / 1e6);
        }
    }
}
