package dev.airlock.cli;

import dev.airlock.gateway.host.HostFactsService;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.Printable;
import dev.airlock.policy.ProductionAddresses;
import dev.airlock.policy.ProductionOverlap;
import dev.airlock.policy.ProjectReach;
import dev.airlock.policy.address.HostAddresses;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.load.PolicyKind;
import dev.airlock.policy.load.Problem;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.Rule;
import dev.airlock.policy.model.SourcePosition;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "check",
        mixinStandardHelpOptions = true,
        description = {
            "Validate project (airlock.yaml) and organisation policy files.",
            "Each problem is printed to stderr as file:line:col: message; fix: how.",
            "A project is also checked against the organisation policy: its presets must exist, and",
            "an allow rule that the production set covers entirely is an error, and so is a cidr rule",
            "inside what no project can open (the host's loopback, link-local and cloud metadata, the",
            "host's own addresses): only an exception in the organisation policy opens those."
        },
        footer = {"", "Exit codes: 0 every file is valid; 1 any file is invalid."})
final class PolicyCheckCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "FILE", arity = "0..*",
            description = "Policy files to check; project or organisation policies are told apart by their keys (default: ./airlock.yaml).")
    List<Path> files = List.of();

    @Option(names = "--org", paramLabel = "FILE",
            description = "Organisation policy to check projects against (default: $AIRLOCK_ORG, then /etc/airlock/org.yaml if it exists).")
    Path org;

    @Option(names = "--hosts", paramLabel = "FILE",
            description = "A hosts map (/etc/hosts format) to resolve the exact production names with: a project cidr covering "
                    + "one of their addresses is warned about. Without it, production names are not resolved.")
    Path hosts;

    @Option(names = "--host-addresses", paramLabel = "LIST", split = ",",
            description = "The gateway host's own addresses (comma-separated): a project cidr naming one is refused. "
                    + "Without it, only the built-in closed ranges are checked.")
    List<String> hostAddresses = List.of();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Path> targets = files.isEmpty() ? List.of(Path.of("airlock.yaml")) : files;
        OrgPolicy orgPolicy = OrgPolicy.NONE;
        boolean ok = true;
        Optional<Path> orgPath = PolicySources.orgPath(org);
        if (orgPath.isPresent()) {
            try {
                orgPolicy = PolicyFiles.loadOrg(orgPath.get());
            } catch (PolicyException e) {
                print(err, e.problems());
                err.println(orgPath.get() + ": invalid organisation policy; projects are checked without it");
                ok = false;
            }
        }
        HostAddresses host;
        ProductionAddresses production;
        try {
            host = hostAddresses(hostAddresses);
            production = hosts == null ? ProductionAddresses.NONE
                    : HostFactsService.once(Set::of, orgPolicy.production(), HostsFile.load(hosts), System.err).productionAddresses().get();
        } catch (PolicyException e) {
            print(err, e.problems());
            return ExitCodes.BAD_INPUT;
        } catch (java.io.IOException e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.BAD_INPUT;
        }
        for (Path file : targets) {
            ok &= check(file, orgPolicy, host, production, out, err);
        }
        return ok ? ExitCodes.OK : ExitCodes.BAD_INPUT;
    }

    static HostAddresses hostAddresses(List<String> given) throws PolicyException {
        Set<IpAddress> out = new HashSet<>();
        for (String a : given) {
            if (a.equals("none") || a.isBlank()) {
                continue;
            }
            if (!(IpLiterals.shape(a.strip()) instanceof IpLiterals.Canonical c)) {
                throw new PolicyException(List.of(new Problem(SourcePosition.of("--host-addresses"),
                        "\"" + Printable.escape(a) + "\" is not a canonical IP address", "write addresses such as 10.0.0.5,fd00::5")));
            }
            out.add(c.address());
        }
        return new HostAddresses(out);
    }

    private boolean check(Path file, OrgPolicy orgPolicy, HostAddresses host, ProductionAddresses production, PrintWriter out,
            PrintWriter err) {
        try {
            String text = PolicyFiles.readText(file);
            if (PolicyKind.detect(text) == PolicyKind.ORG) {
                OrgPolicy o = PolicyFiles.parseOrg(file.toString(), text);
                out.println(file + ": valid organisation policy (" + o.production().size() + " production rules, "
                        + o.presets().size() + " presets, audit every " + o.auditEvery().toString().substring(2).toLowerCase() + ")");
                return true;
            }
            ProjectPolicy p = PolicyFiles.parseProject(file.toString(), text);
            List<Rule> allows = PolicyEngine.effectiveAllows(p, orgPolicy, Phase.SETUP);
            PolicyEngine.compile(p, orgPolicy, Phase.RUN, List.of());
            boolean valid = true;
            for (ProductionOverlap.Finding f : ProductionOverlap.analyse(allows, orgPolicy.production())) {
                err.println(f);
                valid &= f.severity() != ProductionOverlap.Severity.ERROR;
            }
            boolean reachOk = true;
            for (ProjectReach.Finding f : ProjectReach.analyse(p.project(), allows, orgPolicy, host, production)) {
                err.println(f);
                reachOk &= f.severity() != ProjectReach.Severity.ERROR;
            }
            if (!reachOk) {
                err.println(file + ": invalid: a cidr rule tries to open what only the organisation policy can (see above)");
                return false;
            }
            if (valid) {
                out.println(file + ": valid project policy \"" + p.project() + "\" (" + allows.size() + " allow rules with presets and setup, "
                        + p.deny().size() + " deny rules" + (orgPolicy == OrgPolicy.NONE ? "; no organisation policy given" : "") + ")");
            } else {
                err.println(file + ": invalid: an allow rule can never take effect (see above)");
            }
            return valid;
        } catch (PolicyException e) {
            print(err, e.problems());
            err.println(file + ": invalid (" + e.problems().size() + (e.problems().size() == 1 ? " problem)" : " problems)"));
            return false;
        }
    }

    static void print(PrintWriter err, List<Problem> problems) {
        problems.forEach(err::println);
    }
}
