package dev.airlock.audit.k8s;

import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Labels written {@code k=v,k2=v2}, as {@code --pods} takes them: the labels of the pods a static
 * check is about, and the selectors the Kubernetes exports write. Keys and values follow the
 * Kubernetes label syntax, so that what is written here is what a cluster accepts.
 */
public record PodLabels(Map<String, String> labels) {

    /** An optional DNS-subdomain prefix and "/", then a name of at most 63 characters. */
    private static final Pattern KEY = Pattern.compile(
            "([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");
    private static final Pattern VALUE = Pattern.compile("([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?");

    public PodLabels {
        labels = java.util.Collections.unmodifiableMap(new TreeMap<>(labels));
    }

    /** Parses {@code k=v,k2=v2}; a message that says what is wrong and how to write it otherwise. */
    public static PodLabels parse(String text) {
        Map<String, String> m = new TreeMap<>();
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("no labels given: write key=value[,key=value...], such as app=airlock-agent");
        }
        for (String part : text.split(",", -1)) {
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("\"" + part + "\" is not key=value: write key=value[,key=value...], such as app=airlock-agent");
            }
            String k = part.substring(0, eq).strip();
            String v = part.substring(eq + 1).strip();
            if (v.startsWith("=")) {
                v = v.substring(1); // accept k==v, as kubectl does
            }
            if (!KEY.matcher(k).matches() || k.length() > 317) {
                throw new IllegalArgumentException("\"" + k + "\" is not a Kubernetes label key ([prefix/]name, name at most 63 of [A-Za-z0-9-_.])");
            }
            if (!VALUE.matcher(v).matches()) {
                throw new IllegalArgumentException("\"" + v + "\" is not a Kubernetes label value (at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends)");
            }
            if (m.put(k, v) != null) {
                throw new IllegalArgumentException("label \"" + k + "\" is given twice");
            }
        }
        return new PodLabels(m);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        labels.forEach((k, v) -> b.append(b.isEmpty() ? "" : ",").append(k).append('=').append(v));
        return b.toString();
    }
}
