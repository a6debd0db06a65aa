package dev.airlock.cli;

import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.ProductionOverlap;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.load.PolicyKind;
import dev.airlock.policy.load.Problem;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.Rule;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
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
            "an allow rule that the production set covers entirely is an error."
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
        for (Path file : targets) {
            ok &= check(file, orgPolicy, out, err);
        }
        return ok ? ExitCodes.OK : ExitCodes.BAD_INPUT;
    }

    private boolean check(Path file, OrgPolicy orgPolicy, PrintWriter out, PrintWriter err) {
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
