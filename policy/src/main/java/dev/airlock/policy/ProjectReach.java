package dev.airlock.policy;

import dev.airlock.policy.address.AddressClass;
import dev.airlock.policy.address.AddressClassifier;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.HostAddresses;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.model.Destination;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.Rule;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Static check of what a project's {@code cidr:} allow rules try to open. The engine never lets
 * them open the host's loopback, link-local and metadata, the host's own addresses or production,
 * so none of these is a hole at run time; but a rule that tries is a mistake (often old advice
 * followed), and {@code policy check} refuses it with where it is and what to do instead: ask the
 * security team for an exception in the organisation policy, with the exact lines to add there.
 *
 * <p>A rule inside a closed range is an error, unless an organisation exception for the project
 * already grants all of it; a wider rule that only partly covers a closed range, a host address or
 * a production name's address is a warning (those addresses stay closed).
 */
public final class ProjectReach {

    public enum Severity { WARNING, ERROR }

    public record Finding(Severity severity, Rule allow, String message, String fix) {
        @Override
        public String toString() {
            return allow.position() + ": " + severity.name().toLowerCase(java.util.Locale.ROOT) + ": " + message
                    + (fix.isEmpty() ? "" : "; fix: " + fix);
        }
    }

    private static final AddressClassifier BUILT_IN = new AddressClassifier();

    private ProjectReach() {
    }

    /**
     * @param allows     the project's allow rules (with presets and setup)
     * @param host       the host's own addresses, when the checker could read them
     * @param production the production names' addresses, when the checker could resolve them
     */
    public static List<Finding> analyse(String project, List<Rule> allows, OrgPolicy org, HostAddresses host,
            ProductionAddresses production) {
        List<Finding> out = new ArrayList<>();
        List<Map.Entry<Cidr, AddressClass>> closed = AddressClassifier.closedToProjects();
        List<OrgPolicy.Grant> grants = org.exceptionsFor(project);
        for (Rule r : allows) {
            if (!(r.destination() instanceof Destination.Addresses a)) {
                continue;
            }
            Cidr c = a.cidr();
            // The most specific closed range holding the whole rule names it best (metadata, not link-local).
            Map.Entry<Cidr, AddressClass> inside = null;
            Map.Entry<Cidr, AddressClass> overlapping = null;
            for (Map.Entry<Cidr, AddressClass> e : closed) {
                if (e.getKey().covers(c) && (inside == null || e.getKey().prefixLength() > inside.getKey().prefixLength())) {
                    inside = e;
                } else if (overlapping == null && e.getKey().overlaps(c) && !e.getKey().covers(c)) {
                    overlapping = e;
                }
            }
            if (inside != null && !granted(grants, c, r)) {
                out.add(new Finding(Severity.ERROR, r, "cidr " + c + " is " + inside.getValue().description + " ("
                        + inside.getKey() + "), which no project rule can open", inside.getValue() == AddressClass.METADATA
                                ? "remove the rule: a cloud metadata service hands out the host's credentials and is never opened; "
                                        + "give the agent the credentials it needs explicitly (--env)"
                                : exceptionFix(project, r, c, org)));
            } else if (inside == null && overlapping != null) {
                out.add(new Finding(Severity.WARNING, r, "cidr " + c + " covers " + overlapping.getKey() + " ("
                        + overlapping.getValue().description + ") and other closed ranges, which stay closed to this rule", ""));
            }
            for (IpAddress h : host.addresses()) {
                if (c.contains(h) && !granted(grants, Cidr.host(h), r)) {
                    boolean exact = c.prefixLength() == h.family().bits;
                    out.add(new Finding(exact ? Severity.ERROR : Severity.WARNING, r, "cidr " + c + " covers " + h
                            + ", an address of this host, which " + (exact ? "no project rule can open" : "stays closed to this rule"),
                            exact ? exceptionFix(project, r, c, org) : ""));
                }
            }
            for (Map.Entry<IpAddress, Rule> p : production.rules().entrySet()) {
                if (c.contains(p.getKey())) {
                    out.add(new Finding(Severity.WARNING, r, "cidr " + c + " covers " + p.getKey() + ", an address of the production name "
                            + p.getValue().describe() + " at " + p.getValue().position() + "; it stays denied",
                            "narrow the cidr, or ask the security team whether " + p.getValue().describe() + " is really production"));
                }
            }
        }
        return out;
    }

    private static boolean granted(List<OrgPolicy.Grant> grants, Cidr c, Rule r) {
        for (OrgPolicy.Grant g : grants) {
            if (g.cidr().covers(c) && g.ports().covers(r.ports())) {
                return true;
            }
        }
        return false;
    }

    /** The org file and the exact lines the security team would add there. */
    private static String exceptionFix(String project, Rule r, Cidr c, OrgPolicy org) {
        String file = org == OrgPolicy.NONE ? "the organisation policy (/etc/airlock/org.yaml or $AIRLOCK_ORG)" : org.file();
        String ports = r.ports().isAny() ? "[<port>]" : "[" + java.util.Arrays.stream(r.ports().ports())
                .mapToObj(Integer::toString).collect(java.util.stream.Collectors.joining(", ")) + "]";
        return "remove the rule; if the project really needs it, ask the security team to add to " + file
                + ": \"exceptions: [{project: " + project + ", cidr: " + c + ", ports: " + ports + "}]\""
                + (BUILT_IN.classify(c.network()) == AddressClass.LOOPBACK
                        ? " (for a server inside the sandbox, no rule is needed: its own loopback is reached directly with NO_PROXY set)"
                        : "");
    }
}
