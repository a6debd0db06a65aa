package dev.airlock.k8s;

import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.ArrayList;
import java.util.List;

/**
 * Asks the API server, before anything is applied, whether Airlock's account may do everything a
 * project needs in the namespace (SelfSubjectAccessReview), so a missing permission is one clear
 * error listing every missing verb and the Role that grants them, never a half-applied project.
 */
public final class AccessCheck {

    /** One RBAC rule: verbs on a resource of an API group ("" is the core group). */
    public record Grant(String group, String resource, List<String> verbs) {
        public Grant {
            verbs = List.copyOf(verbs);
        }
    }

    /** What the backend does: apply the project's objects, run the pool controller's informers, claim and delete members, run commands in them. */
    public static final List<Grant> NEEDED = List.of(
            new Grant("", "configmaps", List.of("get", "list", "watch", "create", "patch", "delete")),
            new Grant("", "serviceaccounts", List.of("get", "list", "create", "patch", "delete")),
            new Grant("", "services", List.of("get", "list", "create", "patch", "delete")),
            new Grant("", "secrets", List.of("get", "create", "patch", "delete")),
            new Grant("", "pods", List.of("get", "list", "watch", "create", "update", "patch", "delete")),
            // airlock run / sandbox exec run the command in the claimed pod through the API server. An exec over a
            // WebSocket is an HTTP GET, which RBAC checks as `get`; API servers from 1.31 check `create` as well.
            new Grant("", "pods/exec", List.of("get", "create")),
            new Grant("apps", "deployments", List.of("get", "list", "create", "patch", "delete")),
            new Grant("networking.k8s.io", "networkpolicies", List.of("get", "list", "create", "patch", "delete")));

    private AccessCheck() {
    }

    /** Every verb of {@link #NEEDED} the client's account lacks in {@code namespace}, as {@code verb group/resource}. */
    public static List<String> missing(KubernetesClient client, String namespace) throws KubeBackendException {
        List<String> out = new ArrayList<>();
        for (Grant g : NEEDED) {
            for (String verb : g.verbs()) {
                // "pods/exec" is the resource pods with the subresource exec, as RBAC rules write it
                String[] resource = g.resource().split("/", 2);
                SelfSubjectAccessReview review = new SelfSubjectAccessReviewBuilder()
                        .withNewSpec().withNewResourceAttributes()
                        .withNamespace(namespace).withGroup(g.group()).withResource(resource[0])
                        .withSubresource(resource.length > 1 ? resource[1] : null).withVerb(verb)
                        .endResourceAttributes().endSpec().build();
                try {
                    SelfSubjectAccessReview answer = client.resource(review).create();
                    if (answer.getStatus() == null || !Boolean.TRUE.equals(answer.getStatus().getAllowed())) {
                        out.add(verb + " " + (g.group().isEmpty() ? "" : g.group() + "/") + g.resource());
                    }
                } catch (KubernetesClientException e) {
                    throw new KubeBackendException(KubeErrors.explain(e, "ask the API server what this account may do"), e);
                }
            }
        }
        return out;
    }

    /** Fails, naming every missing permission and the fix, unless the account may do all a project needs. */
    public static void require(KubernetesClient client, String namespace) throws KubeBackendException {
        List<String> missing = missing(client, namespace);
        if (!missing.isEmpty()) {
            throw new KubeBackendException("the Kubernetes account lacks " + missing.size() + " permission(s) in namespace " + namespace + ": "
                    + String.join(", ", missing) + ". Nothing was applied. Fix: bind it to this Role (docs/kubernetes.md, RBAC):\n" + role(namespace));
        }
    }

    /** The Role that grants {@link #NEEDED}, as YAML for kubectl apply. */
    public static String role(String namespace) {
        StringBuilder b = new StringBuilder("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: airlock\n  namespace: ")
                .append(namespace).append("\nrules:\n");
        for (Grant g : NEEDED) {
            b.append("  - apiGroups: [\"").append(g.group()).append("\"]\n    resources: [").append(g.resource())
                    .append("]\n    verbs: [").append(String.join(", ", g.verbs())).append("]\n");
        }
        return b.toString();
    }
}
