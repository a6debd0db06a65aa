package dev.airlock.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;

/** A daemon configuration in a temporary directory: one project, hermetic (a hosts file, no DNS). */
final class DaemonFixture {

    private DaemonFixture() {
    }

    /** Writes the files and returns the config path ({@code size} below 0: auto). {@code extra} lines are appended to the config. */
    static Path write(Path dir, int size, int hardLimit, String... extra) throws IOException {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
        Files.writeString(dir.resolve("airlock.yaml"), String.join("\n",
                "version: 1",
                "project: daemon-it",
                "network:",
                "  allow: [allowed.example.test]",
                "resources: { memory: 256MiB, cpus: 1, pids: 128 }",
                "pool: { min: 1, max: 4, targetHitRate: 0.9 }", ""));
        Files.writeString(dir.resolve("org.yaml"), String.join("\n", "version: 1", "production:", "  - cidr: 198.19.250.0/24", ""));
        Files.writeString(dir.resolve("hosts"), "198.19.250.1 prod.example.test\n");
        String config = String.join("\n", Stream.concat(Stream.of(
                "version: 1",
                "state: " + dir.resolve("state"),
                "org: org.yaml",
                "hosts: hosts",
                "audits: false",
                "projects:",
                "  - policy: airlock.yaml",
                "    size: " + (size < 0 ? "auto" : Integer.toString(size)),
                "    hardLimit: " + hardLimit), Stream.of(extra)).toList()) + "\n";
        Path file = dir.resolve("daemon.yaml");
        Files.writeString(file, config);
        return file;
    }

    /** The sandbox ids whose machine-wide lease names {@code pid} as owner. */
    static List<String> leasesOf(long pid) throws IOException {
        Path dir = Path.of("/run/airlock/sandbox");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("alk[0-9a-f]{8}\\.json")).filter(p -> {
                try {
                    return Files.readString(p).contains("\"ownerPid\": " + pid + ",");
                } catch (IOException e) {
                    return false;
                }
            }).map(p -> p.getFileName().toString().substring(0, 11)).toList();
        }
    }

    static List<String> leasesOfQuietly(long pid) {
        try {
            return leasesOf(pid);
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The member workspaces ({@code state-workspaces/PROJECT/w-*}) of the daemon configured in {@code dir}. */
    static List<Path> memberWorkspaces(Path dir) throws IOException {
        Path root = dir.resolve("state-workspaces");
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> projects = Files.list(root)) {
            List<Path> out = new java.util.ArrayList<>();
            for (Path p : projects.toList()) {
                try (Stream<Path> ws = Files.list(p)) {
                    ws.filter(w -> w.getFileName().toString().startsWith("w-")).forEach(out::add);
                }
            }
            return out;
        }
    }

    static boolean netnsExists(String id) {
        return Files.exists(Path.of("/run/netns", id));
    }
}
