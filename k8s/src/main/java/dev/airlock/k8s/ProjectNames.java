package dev.airlock.k8s;

import dev.airlock.audit.export.K8sNames;
import dev.airlock.audit.k8s.PodLabels;
import java.util.Map;
import java.util.TreeMap;

/**
 * The names and labels of one project's objects. Every object carries
 * {@code app.kubernetes.io/managed-by=airlock} and the project label, so Airlock can tell its own
 * objects from a user's object of the same name and never overwrites the latter.
 */
public record ProjectNames(String project) {

    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String AIRLOCK = "airlock";
    public static final String PROJECT = "airlock.dev/project";
    /** A pool member's state: {@code ready} (unclaimed) or {@code claimed}. */
    public static final String STATE = "airlock.dev/state";
    /** Which claim holds a claimed pod. */
    public static final String CLAIM = "airlock.dev/claim";
    /** The hash of the pod template a pool member was made from; a new template rotates the pool. */
    public static final String TEMPLATE = "airlock.dev/template";
    public static final String FIELD_MANAGER = "airlock";

    public ProjectNames {
        project = label(project);
    }

    String base() {
        return label("airlock-" + project);
    }

    public String policyConfigMap() {
        return label(base() + "-policy");
    }

    public String gateway() {
        return label(base() + "-gateway");
    }

    /** The Secret with the project's audit ingest token: mounted into the gateway pods only. */
    public String auditToken() {
        return label(base() + "-audit-token");
    }

    /** The ConfigMap with the CA certificate (no key) the gateway pods trust for the daemon's audit ingest. */
    public String auditCa() {
        return label(base() + "-audit-ca");
    }

    /** The account agent and gateway pods run as: it has no role and mounts no token. */
    public String agentAccount() {
        return base();
    }

    public String agentPodPrefix() {
        return label(base() + "-agent") + "-";
    }

    /** The labels every object of this project carries. */
    public Map<String, String> common() {
        return new TreeMap<>(Map.of(MANAGED_BY, AIRLOCK, PROJECT, project));
    }

    public PodLabels agentPods() {
        return new PodLabels(Map.of("app", "airlock-agent", PROJECT, project));
    }

    public PodLabels gatewayPods() {
        return new PodLabels(Map.of("app", "airlock-gateway", PROJECT, project));
    }

    /** {@code s} as an RFC 1123 label, exactly as the exporter names its policies (so the two cannot drift). */
    static String label(String s) {
        return K8sNames.label(s);
    }
}
