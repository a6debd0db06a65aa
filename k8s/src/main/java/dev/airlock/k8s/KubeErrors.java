package dev.airlock.k8s;

import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.UnresolvedAddressException;
import javax.net.ssl.SSLException;

/** The API server's and the transport's failures as one line each: what could not be done, why, and the fix. */
final class KubeErrors {

    private KubeErrors() {
    }

    static String explain(KubernetesClientException e, String action) {
        int code = e.getCode();
        String reason = e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage() : rootMessage(e);
        if (code <= 0) {
            return transport(e, action); // fabric8 gives 0 or -1 when no HTTP answer came
        }
        if (code == 403 && reason.contains("exceeded quota")) {
            return "cannot " + action + ": over the namespace's ResourceQuota (" + reason + "). Fix: raise the quota or free room in the namespace";
        }
        return switch (code) {
            case 401 -> "cannot " + action + ": the API server did not accept the credentials (" + reason
                    + "). Fix: renew the token or client certificate in the kubeconfig";
            case 403 -> "cannot " + action + ": forbidden (" + reason + "). Fix: grant the account the Role in docs/kubernetes.md (RBAC), "
                    + "for example kubectl apply -f docs/kubernetes/rbac.yaml";
            case 404 -> "cannot " + action + ": not found (" + reason + "). Fix: create the namespace first, or correct kubernetes.namespace";
            case 409 -> "cannot " + action + ": conflict (" + reason + "). Fix: another writer changed the object meanwhile; retry, and make sure "
                    + "no second daemon serves this namespace";
            case 422 -> "cannot " + action + ": the API server refused the object (" + reason + "). Fix: correct the kubernetes: settings "
                    + "the message names (images, podCidr) in the daemon's configuration";
            default -> "cannot " + action + ": HTTP " + code + " (" + reason + "). Fix: see the API server's log for this request, "
                    + "then retry";
        };
    }

    /** As {@link #explain(KubernetesClientException, String)}, with what was left behind (one sentence) said before the fix. */
    static String explain(KubernetesClientException e, String action, String outcome) {
        String m = explain(e, action);
        int fix = m.indexOf(". Fix: ");
        return m.substring(0, fix + 1) + " " + outcome + m.substring(fix + 1);
    }

    private static String transport(Throwable e, String action) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException || t instanceof HttpConnectTimeoutException || t instanceof UnresolvedAddressException
                    || t instanceof ClosedChannelException) {
                return "cannot " + action + ": nothing answers there (" + rootMessage(e) + "). Fix: check that the cluster is running and that "
                        + "the kubeconfig's server address and port are right";
            }
            if (t instanceof SSLException) {
                return "cannot " + action + ": TLS failed (" + rootMessage(e) + "). Fix: make the kubeconfig's certificate-authority "
                        + "the cluster's CA";
            }
        }
        return "cannot " + action + ": " + rootMessage(e) + ". Fix: check that the cluster is running and the kubeconfig's server address";
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }
}
