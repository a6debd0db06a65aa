package dev.airlock.policy.load;

import java.util.List;
import java.util.stream.Collectors;

/** A policy file that cannot be used. Carries every problem found, not just the first. */
public final class PolicyException extends Exception {

    private static final long serialVersionUID = 1L;

    private final transient List<Problem> problems;

    public PolicyException(List<Problem> problems) {
        super(problems.stream().map(Problem::toString).collect(Collectors.joining("\n")));
        this.problems = List.copyOf(problems);
    }

    public List<Problem> problems() {
        return problems;
    }
}
