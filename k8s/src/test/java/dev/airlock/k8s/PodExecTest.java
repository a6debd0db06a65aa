package dev.airlock.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** How a refused exec reads: the JDK WebSocket client reports the upgrade's status only in its message. */
class PodExecTest {

    /** As fabric8 over the JDK client throws it: code 0, the status in the innermost message. */
    private static KubernetesClientException refusedUpgrade(int status) {
        return new KubernetesClientException("An error has occurred.",
                new IOException("handshake", new IOException("Unexpected HTTP response status code " + status)));
    }

    @Test
    void upgradeStatus_fromTheJdkClientsMessage() {
        assertThat(PodExec.upgradeStatus(refusedUpgrade(403))).isEqualTo(403);
        assertThat(PodExec.upgradeStatus(refusedUpgrade(400))).isEqualTo(400);
    }

    @Test
    void upgradeStatus_anApiAnswersOwnCodeFirst() {
        KubernetesClientException e = new KubernetesClientException(new StatusBuilder().withCode(404).withMessage("pods \"x\" not found").build());
        assertThat(PodExec.upgradeStatus(e)).isEqualTo(404);
    }

    @Test
    void upgradeStatus_noStatusAnywhere_isZero() {
        assertThat(PodExec.upgradeStatus(new KubernetesClientException("closed", new IOException("Connection reset")))).isZero();
    }

    @Test
    void explain_forbidden_namesTheRuleTheNamespaceAndTheFix() {
        assertThat(PodExec.explain(refusedUpgrade(403), "team-a", "airlock-p-agent-x"))
                .startsWith("cannot run a command in pod team-a/airlock-p-agent-x (pods/exec): the daemon's Kubernetes account lacks the RBAC rule"
                        + " {apiGroups: [\"\"], resources: [pods/exec], verbs: [get, create]} in namespace team-a")
                .contains("Fix: add that rule to the daemon's Role (docs/kubernetes/rbac.yaml)");
    }

    @Test
    void explain_anotherRefusedUpgrade_saysWhereTheReasonIs() {
        assertThat(PodExec.explain(refusedUpgrade(400), "team-a", "p"))
                .contains("the API server answered HTTP 400 to the exec's WebSocket upgrade")
                .contains("Fix: check that the pod is Running on a node whose kubelet the API server reaches")
                .contains("kubectl -n team-a exec p -c agent -- true");
    }

    @Test
    void explain_noAnswer_isTheTransportsError() {
        KubernetesClientException e = new KubernetesClientException("closed", new java.net.ConnectException("Connection refused"));
        assertThat(PodExec.explain(e, "team-a", "p")).contains("nothing answers there").contains("Fix:");
    }
}
