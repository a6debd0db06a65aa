package dev.airlock.policy.name;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The ICANN section of the Public Suffix List, shipped as a resource. It answers one question:
 * would {@code *.x} open a whole registry? The private section is left out on purpose: it lists
 * single-company zones such as {@code githubusercontent.com}, which projects legitimately allow.
 * Its names are A-labels already, as {@link HostNames} canonicalises a policy's: looking one up is
 * a string comparison, and loading the list needs no IDNA.
 */
public final class PublicSuffixes {

    private static final String RESOURCE = "public_suffix_list_icann.dat";

    private final Set<String> rules = new HashSet<>();
    private final Set<String> wildcards = new HashSet<>();
    private final Set<String> exceptions = new HashSet<>();

    private static final class Holder {
        static final PublicSuffixes ICANN = load();
    }

    public static PublicSuffixes icann() {
        return Holder.ICANN;
    }

    private static PublicSuffixes load() {
        PublicSuffixes p = new PublicSuffixes();
        try (InputStream in = PublicSuffixes.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + RESOURCE);
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                line = line.strip();
                if (line.isEmpty() || line.startsWith("//")) {
                    continue;
                }
                if (!line.chars().allMatch(c -> c < 0x80)) {
                    throw new IllegalStateException(RESOURCE + ": '" + line + "' is not ASCII. Fix: write it as A-labels"
                            + " (IDN.toASCII with ALLOW_UNASSIGNED, lower-case), as the list's other names are");
                }
                line = line.toLowerCase(Locale.ROOT);
                if (line.startsWith("!")) {
                    p.exceptions.add(line.substring(1));
                } else if (line.startsWith("*.")) {
                    p.wildcards.add(line.substring(2));
                } else {
                    p.rules.add(line);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    /** True for a canonical name that is itself a public suffix (every single label counts). */
    public boolean isPublicSuffix(String name) {
        if (name.indexOf('.') < 0) {
            return true;
        }
        if (exceptions.contains(name)) {
            return false;
        }
        if (rules.contains(name)) {
            return true;
        }
        int dot = name.indexOf('.');
        return wildcards.contains(name.substring(dot + 1));
    }
}
