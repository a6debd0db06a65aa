package dev.airlock.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * This build's version (Maven's project version, filtered into version.properties): the tag
 * scripts/build-oci-image.sh gives the image, so {@code kubernetes.image} names the gateway image
 * of the same Airlock as the daemon.
 */
final class AirlockVersion {

    private AirlockVersion() {
    }

    static String current() {
        try (InputStream in = AirlockVersion.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                throw new IllegalStateException("dev/airlock/server/version.properties is missing from the build");
            }
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version", "");
            // an unfiltered file (a build outside Maven) would tag images "${project.version}"
            if (!v.matches("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")) {
                throw new IllegalStateException("dev/airlock/server/version.properties has no usable version ('" + v + "')");
            }
            return v;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
