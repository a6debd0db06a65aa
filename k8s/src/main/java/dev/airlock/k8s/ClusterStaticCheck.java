package dev.airlock.k8s;

import dev.airlock.audit.k8s.ManifestException;
import dev.airlock.audit.k8s.NetworkPolicyReader;
import dev.airlock.audit.k8s.PodLabels;
import dev.airlock.audit.k8s.StaticCheck;
import dev.airlock.policy.model.OrgPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * {@code airlock audit static} over what the API server holds, not over a file: every NetworkPolicy
 * of the namespace (Airlock's and anyone else's, since any policy selecting the agent pods widens
 * what they may reach), read back and judged by the same reader and check as manifest files.
 */
public final class ClusterStaticCheck {

    private ClusterStaticCheck() {
    }

    public static StaticCheck.Report check(KubernetesClient client, String namespace, PodLabels pods, OrgPolicy org) throws KubeBackendException {
        NetworkPolicyList list;
        try {
            list = client.network().v1().networkPolicies().inNamespace(namespace).list();
        } catch (KubernetesClientException e) {
            throw new KubeBackendException(KubeErrors.explain(e, "list the NetworkPolicies of namespace " + namespace), e);
        }
        String source = client.getMasterUrl() + " namespace " + namespace;
        try {
            var read = NetworkPolicyReader.read(source, client.getKubernetesSerialization().asYaml(list));
            return StaticCheck.check(read.policies(), pods, namespace, org.production());
        } catch (ManifestException e) {
            // Fail closed: a policy the reader cannot judge might open anything.
            throw new KubeBackendException("cannot judge the NetworkPolicies of " + source + ", so the check fails: " + e.getMessage(), e);
        }
    }
}
