package dev.airlock.k8s;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.ContainerResource;
import io.fabric8.kubernetes.client.dsl.ExecListenable;
import io.fabric8.kubernetes.client.dsl.ExecWatch;
import io.fabric8.kubernetes.client.dsl.TtyExecErrorable;
import io.fabric8.kubernetes.client.http.WebSocketHandshakeException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs a command in a claimed agent pod's {@code agent} container through the API server's
 * {@code pods/exec} subresource (fabric8 over the JDK HTTP client: a WebSocket speaking
 * {@code v4.channel.k8s.io}; the API server relays it to the pod's kubelet). This is the daemon's
 * only way into a pod: it holds no node or runtime access.
 *
 * <p>A piped command (input, no terminal) runs as {@code /airlock/bin/airlock-exec NAME=VALUE… --
 * COMMAND…}: the stdin relay ({@link #RELAY}, packaging/exec/airlock-exec.c, put into every agent
 * pod by its init container, {@link AgentPods}) reads the framed input ({@link PodCommand#stdin()})
 * and closes the command's stdin at the end frame, which {@code v4.channel.k8s.io} cannot carry
 * itself; it sets the variables and gives a missing or not runnable command 127 or 126, as on one
 * host. Otherwise (a terminal, or no input) variables go as an {@code env NAME=VALUE… COMMAND…}
 * prefix, since an exec request has no environment of its own; the agent image needs {@code env}
 * as it needs {@code sleep} for an idle member.
 */
public final class PodExec {

    /** The agent pod's one container ({@link AgentPods}). */
    public static final String CONTAINER = "agent";

    /** The stdin relay in the agent container, copied there by the pod's init container ({@link AgentPods#RELAY_DIR}). */
    public static final String RELAY = "/airlock/bin/airlock-exec";

    /** How the JDK's WebSocket client reports a refused upgrade ("Unexpected HTTP response status code 403"). */
    private static final Pattern STATUS = Pattern.compile("status code (\\d{3})");

    private final KubernetesClient client;

    public PodExec(KubernetesClient client) {
        this.client = client;
    }

    /** A terminal's size in character cells, as the client's window has it. */
    public record Window(int rows, int cols) {
        public Window {
            if (rows < 1 || cols < 1) {
                throw new IllegalArgumentException("a terminal of " + rows + "x" + cols + " cells");
            }
        }
    }

    /**
     * Starts {@code command} in {@code pod}: stdin, stdout and stderr as pipes, or with
     * {@code terminal} one terminal (one output, no separate stderr, as {@code kubectl exec -t}).
     * A refusal (no {@code pods/exec} permission, a pod without a node, an unreachable kubelet)
     * is one message with the fix.
     */
    public PodCommand start(Pod pod, List<String> command, Map<String, String> env, Optional<Window> terminal) throws KubeBackendException {
        return start(pod, command, env, true, terminal);
    }

    /**
     * As {@link #start(Pod, List, Map, Optional)}; without {@code stdin} the command's input is
     * closed from the start, so it reads end-of-file at once (a terminal always has input). With
     * {@code stdin} and no terminal the command runs under the relay: its input ends at
     * {@link PodCommand#endInput()}.
     */
    public PodCommand start(Pod pod, List<String> command, Map<String, String> env, boolean stdin, Optional<Window> terminal)
            throws KubeBackendException {
        if (command.isEmpty()) {
            throw new IllegalArgumentException("an empty command");
        }
        String ns = pod.getMetadata().getNamespace();
        String name = pod.getMetadata().getName();
        boolean relayed = stdin && terminal.isEmpty();
        List<String> argv = new ArrayList<>();
        argv.add(relayed ? RELAY : "env");
        env.forEach((k, v) -> argv.add(k + "=" + v));
        if (relayed) {
            argv.add("--");
        }
        argv.addAll(command);
        try {
            ContainerResource container = client.pods().inNamespace(ns).withName(name).inContainer(CONTAINER);
            TtyExecErrorable streams = stdin || terminal.isPresent() ? container.redirectingInput().redirectingOutput() : container.redirectingOutput();
            ExecListenable ready = terminal.isPresent() ? streams.withTTY() : streams.redirectingError();
            ExecWatch watch = ready.exec(argv.toArray(String[]::new));
            PodCommand started = new PodCommand(watch, terminal.isPresent(), relayed, ns + "/" + name);
            terminal.ifPresent(started::resize);
            return started;
        } catch (KubernetesClientException e) {
            throw new KubeBackendException(explain(e, ns, name), e);
        }
    }

    /** A refused exec, with the RBAC rule it lacks when that is the reason. */
    static String explain(KubernetesClientException e, String ns, String pod) {
        String action = "run a command in pod " + ns + "/" + pod + " (pods/exec)";
        int status = upgradeStatus(e);
        if (status == 403) {
            return "cannot " + action + ": the daemon's Kubernetes account lacks the RBAC rule {apiGroups: [\"\"], resources: [pods/exec], verbs: [get, create]}"
                    + " in namespace " + ns + " (the API server answered 403 to the exec's WebSocket upgrade). Fix: add that rule to the daemon's"
                    + " Role (docs/kubernetes/rbac.yaml), for example kubectl apply -n " + ns + " -f docs/kubernetes/rbac.yaml";
        }
        if (e.getCode() <= 0 && status > 0) {
            // a refused upgrade carries no Status body through the JDK client: say where to read the reason
            return "cannot " + action + ": the API server answered HTTP " + status + " to the exec's WebSocket upgrade. Fix: check that the pod is Running on"
                    + " a node whose kubelet the API server reaches; kubectl -n " + ns + " exec " + pod + " -c " + CONTAINER + " -- true prints its reason";
        }
        return KubeErrors.explain(e, action);
    }

    /**
     * The HTTP status of the API server's answer. A refused WebSocket upgrade is no API call for
     * fabric8 (code 0): the status is in the handshake's exception, or (the JDK client) only in
     * its message.
     */
    static int upgradeStatus(KubernetesClientException e) {
        if (e.getCode() > 0) {
            return e.getCode();
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof WebSocketHandshakeException h && h.getResponse() != null) {
                return h.getResponse().code();
            }
            Matcher m = STATUS.matcher(String.valueOf(t.getMessage()));
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return 0;
    }
}
