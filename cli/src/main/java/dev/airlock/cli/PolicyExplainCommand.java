package dev.airlock.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.airlock.gateway.decide.ResolvingDecider;
import dev.airlock.gateway.resolve.Resolution;
import dev.airlock.policy.Authority;
import dev.airlock.policy.Decision;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.ProductionOverlap;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.Rule;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "explain",
        mixinStandardHelpOptions = true,
        description = {
            "Decide TARGET as the gateway would: the name gate, then resolution (only if the name",
            "passes), then the address gate. Prints ALLOW or DENY, the rule, the reason, the addresses,",
            "and the YAML that would allow it, or why no project rule can (production, the host's",
            "loopback, metadata, the host's own addresses) and what to do instead."
        },
        footer = {"", "TARGET is host[:port], ip[:port], [ipv6][:port] or a URL (http, https, ws, wss, ssh, git);",
            "the port defaults to the scheme's, else 443.",
            "", "Examples:",
            "  airlock policy explain --hosts examples/hosts --policy examples/airlock.yaml github.com",
            "  airlock policy explain --policy examples/airlock.yaml --org examples/org.yaml https://api.acme.com/v1/charge",
            "", "Exit codes: 0 allowed; 3 denied; 1 invalid policy or target."})
final class PolicyExplainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    PolicySources sources;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Option(names = "--setup", description = "Decide as during workspace setup (adds network.setup.allow).")
    boolean setup;

    @Parameters(paramLabel = "TARGET", description = "host[:port], ip[:port] or a URL.")
    String target;

    private PolicyEngine engine;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Authority authority;
        switch (Authority.parseTarget(target)) {
            case Authority.Bad bad -> {
                err.println("airlock: invalid target \"" + dev.airlock.policy.Printable.escape(target) + "\": " + bad.why());
                return ExitCodes.BAD_INPUT;
            }
            case Authority.Ok ok -> authority = ok.authority();
        }
        ProjectPolicy project;
        OrgPolicy org;
        PolicyEngine engine;
        ResolvingDecider decider;
        List<ProductionOverlap.Finding> findings;
        try {
            project = sources.project();
            org = sources.orgPolicy();
            Phase phase = setup ? Phase.SETUP : Phase.RUN;
            engine = PolicyEngine.compile(project, org, phase, List.of(), sources.hostFacts(org));
            findings = ProductionOverlap.analyse(PolicyEngine.effectiveAllows(project, org, phase), org.production());
            decider = new ResolvingDecider(engine, sources.resolver());
        } catch (PolicyException e) {
            PolicyCheckCommand.print(err, e.problems());
            return ExitCodes.BAD_INPUT;
        } catch (java.io.IOException e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.BAD_INPUT;
        }
        this.engine = engine;
        boolean swallowed = false;
        for (ProductionOverlap.Finding f : findings) {
            err.println(f);
            swallowed |= f.severity() == ProductionOverlap.Severity.ERROR;
        }
        if (swallowed) {
            err.println("airlock: the policy has an allow rule that can never take effect; fix it first (see above)");
            return ExitCodes.BAD_INPUT;
        }
        ResolvingDecider.Outcome outcome = decider.decide(authority.host(), authority.port());
        Decision d = outcome.decision();
        if (json) {
            ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            out.println(mapper.writeValueAsString(toJson(d, outcome, findings)));
        } else {
            printHuman(out, d, outcome);
        }
        return d.allowed() ? ExitCodes.OK : ExitCodes.DENIED;
    }

    private void printHuman(PrintWriter out, Decision d, ResolvingDecider.Outcome outcome) {
        out.println((d.allowed() ? "ALLOW " : "DENY  ") + hostPort(d));
        out.println("  reason     " + d.reason().code + " (" + d.reason().meaning + ")");
        out.println("  why        " + d.detail());
        out.println("  rule       " + d.ruleText());
        out.println("  addresses  " + addressesText(outcome));
        if (!d.allowed()) {
            // The same advice the 403 body and the run summary give (Advice), naming the policy file.
            List<String> lines = d.advice(engine.classifier()).lines(sources.policy.toString());
            for (int i = 0; i < lines.size(); i++) {
                out.println((i == 0 ? "  advice     " : "             ") + lines.get(i));
            }
        }
    }

    private static String hostPort(Decision d) {
        return (d.target().indexOf(':') >= 0 ? "[" + d.target() + "]" : d.target()) + ":" + d.port();
    }

    private String addressesText(ResolvingDecider.Outcome outcome) {
        if (outcome.resolution().isEmpty()) {
            return outcome.decision().addresses().isEmpty() ? "not resolved (decided before resolution)"
                    : join(outcome.decision().addresses()) + " (requested directly)";
        }
        return switch (outcome.resolution().get()) {
            case Resolution.Answer a -> join(a.addresses()) + (a.aliases().isEmpty() ? "" : " via " + String.join(" -> ", a.aliases()))
                    + " (" + sources.resolverName() + ")";
            case Resolution.Failure f -> "none: " + f.kind().description + " (" + sources.resolverName() + ")";
        };
    }

    private static String join(List<IpAddress> addresses) {
        List<String> s = new ArrayList<>();
        addresses.forEach(a -> s.add(a.toString()));
        return String.join(", ", s);
    }

    private Map<String, Object> toJson(Decision d, ResolvingDecider.Outcome outcome, List<ProductionOverlap.Finding> findings) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("decision", d.allowed() ? "allow" : "deny");
        m.put("target", d.target());
        m.put("port", d.port());
        m.put("reason", d.reason().code);
        m.put("detail", d.detail());
        m.put("rule", d.rule().map(PolicyExplainCommand::ruleJson).orElse(null));
        List<String> addresses = new ArrayList<>();
        List<String> aliases = new ArrayList<>();
        String resolution = "not-resolved";
        if (outcome.resolution().isPresent()) {
            switch (outcome.resolution().get()) {
                case Resolution.Answer a -> {
                    a.addresses().forEach(x -> addresses.add(x.toString()));
                    aliases.addAll(a.aliases());
                    resolution = "answer";
                }
                case Resolution.Failure f -> resolution = f.kind().name().toLowerCase(java.util.Locale.ROOT);
            }
        } else {
            d.addresses().forEach(x -> addresses.add(x.toString()));
        }
        m.put("resolution", resolution);
        m.put("resolver", sources.resolverName());
        m.put("addresses", addresses);
        m.put("aliases", aliases);
        m.put("offendingAddress", d.offending().map(IpAddress::toString).orElse(null));
        dev.airlock.policy.Advice advice = d.advice(engine.classifier());
        // "suggestion" keeps its meaning for scripts: the YAML to add, or why nothing can be added.
        m.put("suggestion", d.allowed() ? null : advice instanceof dev.airlock.policy.Advice.AddRule r ? String.join("\n", r.yaml())
                : advice.line(sources.policy.toString()));
        m.put("advice", d.allowed() ? List.of() : advice.lines(sources.policy.toString()));
        List<Map<String, Object>> warnings = new ArrayList<>();
        for (ProductionOverlap.Finding f : findings) {
            Map<String, Object> w = new LinkedHashMap<>();
            w.put("severity", f.severity().name().toLowerCase(java.util.Locale.ROOT));
            w.put("allow", ruleJson(f.allow()));
            w.put("production", ruleJson(f.production()));
            w.put("message", f.message());
            warnings.add(w);
        }
        m.put("warnings", warnings);
        return m;
    }

    private static Map<String, Object> ruleJson(Rule r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", r.kind().label);
        m.put("rule", r.describe());
        m.put("file", r.position().file());
        m.put("line", r.position().line());
        m.put("column", r.position().column());
        m.put("source", r.source());
        return m;
    }
}
