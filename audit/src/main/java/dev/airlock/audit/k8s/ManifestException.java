package dev.airlock.audit.k8s;

import dev.airlock.policy.load.Problem;
import java.util.List;

/** Kubernetes manifests that cannot be read or are not valid NetworkPolicies, each problem with its position. */
public final class ManifestException extends java.io.IOException {

    private static final long serialVersionUID = 1L;

    private final transient List<Problem> problems;

    public ManifestException(List<Problem> problems) {
        super(problems.isEmpty() ? "invalid manifest" : problems.get(0).toString());
        this.problems = List.copyOf(problems);
    }

    public List<Problem> problems() {
        return problems;
    }
}
