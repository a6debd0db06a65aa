package dev.airlock.audit.export;

import java.util.Locale;
import java.util.regex.Pattern;

/** Kubernetes object names: RFC 1123 labels (lower-case alphanumerics and '-', at most 63, alphanumeric at both ends). */
public final class K8sNames {

    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    private K8sNames() {
    }

    static boolean isLabel(String s) {
        return s != null && LABEL.matcher(s).matches();
    }

    /** {@code s} made an RFC 1123 label: lower-cased, other characters as '-', trimmed to 63, ends alphanumeric. */
    public static String label(String s) {
        String x = s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
        if (x.length() > 63) {
            x = x.substring(0, 63);
        }
        x = x.replaceAll("^-+", "").replaceAll("-+$", "");
        return x.isEmpty() ? "airlock" : x;
    }
}
