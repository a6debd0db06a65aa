package dev.airlock.k8s;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.ArrayList;
import java.util.List;

/**
 * Applies a project's objects by server-side apply, as field manager {@code airlock}. Before
 * writing anything it checks the account's permissions and that no object of the same name exists
 * that Airlock does not manage; if a write still fails part-way, the objects this run created are
 * deleted again, so a failed apply leaves the namespace as it found it (objects that existed before
 * are Airlock's own and keep their last applied state).
 */
public final class ProjectApplier {

    private final KubernetesClient client;

    public ProjectApplier(KubernetesClient client) {
        this.client = client;
    }

    /** The applied project: its owner (the policy ConfigMap) and the gateway Service's cluster IP. */
    public record AppliedProject(ProjectManifests manifests, OwnerReference owner, String gatewayIp) {

        /** The agent pods this project's pool makes. */
        public AgentPods agentPods(ClusterSettings settings, dev.airlock.policy.model.ProjectPolicy.Resources resources) {
            return new AgentPods(manifests.names(), settings.namespace(), settings.agentImage(), settings.gatewayImage(), gatewayIp, resources, owner, manifests.policyHash());
        }
    }

    public AppliedProject apply(ProjectManifests m) throws KubeBackendException {
        String ns = m.settings().namespace();
        AccessCheck.require(client, ns);
        List<HasMetadata> existing = new ArrayList<>();
        List<String> conflicts = new ArrayList<>();
        for (HasMetadata o : m.all()) {
            HasMetadata found;
            try {
                found = client.resource(o).get();
            } catch (KubernetesClientException e) {
                throw new KubeBackendException(KubeErrors.explain(e, "read " + describe(o), "Nothing was applied."), e);
            }
            if (found == null) {
                continue;
            }
            if (!ProjectNames.AIRLOCK.equals(labelOf(found, ProjectNames.MANAGED_BY))) {
                conflicts.add(describe(o));
            } else if (!m.names().project().equals(labelOf(found, ProjectNames.PROJECT))) {
                conflicts.add(describe(o) + " (Airlock's, but of project " + labelOf(found, ProjectNames.PROJECT) + ")");
            } else {
                existing.add(found);
            }
        }
        if (!conflicts.isEmpty()) {
            throw new KubeBackendException("cannot apply project " + m.names().project() + " in namespace " + ns + ": "
                    + String.join(", ", conflicts) + " already exist" + (conflicts.size() == 1 ? "s" : "")
                    + " and " + (conflicts.size() == 1 ? "is" : "are") + " not managed by Airlock (no label "
                    + ProjectNames.MANAGED_BY + "=" + ProjectNames.AIRLOCK + " for this project). Nothing was applied. "
                    + "Fix: rename or delete the object, or run the project in another namespace (kubernetes.namespace).");
        }
        List<HasMetadata> created = new ArrayList<>();
        try {
            ConfigMap policy = (ConfigMap) ssa(m.policy(), existing, created);
            OwnerReference owner = new OwnerReferenceBuilder().withApiVersion("v1").withKind("ConfigMap")
                    .withName(policy.getMetadata().getName()).withUid(policy.getMetadata().getUid())
                    .withController(true).withBlockOwnerDeletion(false).build();
            Service service = null;
            for (HasMetadata o : m.all().subList(1, m.all().size())) {
                HasMetadata copy = client.getKubernetesSerialization().clone(o);
                copy.getMetadata().setOwnerReferences(List.of(owner));
                HasMetadata applied = ssa(copy, existing, created);
                if (applied instanceof Service s) {
                    service = s;
                }
            }
            String ip = service == null ? null : service.getSpec().getClusterIP();
            if (ip == null || ip.isEmpty() || ip.equals("None")) {
                throw new KubeBackendException("the API server gave the gateway Service " + m.names().gateway() + " no cluster IP: "
                        + "agent pods need it as their DNS server and proxy. The objects this run created were deleted again. "
                        + "Fix: give the API server a --service-cluster-ip-range with free addresses");
            }
            return new AppliedProject(m, owner, ip);
        } catch (KubernetesClientException e) {
            rollBack(created);
            throw new KubeBackendException(KubeErrors.explain(e, "apply project " + m.names().project() + " in namespace " + ns,
                    "The objects this run created were deleted again."), e);
        } catch (KubeBackendException e) {
            rollBack(created);
            throw e;
        }
    }

    private HasMetadata ssa(HasMetadata o, List<HasMetadata> existing, List<HasMetadata> created) {
        HasMetadata applied = client.resource(o).fieldManager(ProjectNames.FIELD_MANAGER).forceConflicts().serverSideApply();
        boolean before = existing.stream().anyMatch(e -> e.getKind().equals(o.getKind()) && e.getMetadata().getName().equals(o.getMetadata().getName()));
        if (!before) {
            created.add(applied);
        }
        return applied;
    }

    /** Deletes, newest first, what this run created; a failure here is reported with the original error's fix. */
    private void rollBack(List<HasMetadata> created) {
        for (int i = created.size() - 1; i >= 0; i--) {
            try {
                client.resource(created.get(i)).delete();
            } catch (KubernetesClientException ignored) {
                // Owner references still garbage-collect it with its ConfigMap where a controller manager runs.
            }
        }
    }

    private static String labelOf(HasMetadata o, String key) {
        return o.getMetadata().getLabels() == null ? null : o.getMetadata().getLabels().get(key);
    }

    static String describe(HasMetadata o) {
        return o.getKind() + " " + o.getMetadata().getNamespace() + "/" + o.getMetadata().getName();
    }
}
