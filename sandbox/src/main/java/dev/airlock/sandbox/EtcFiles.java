package dev.airlock.sandbox;

import dev.airlock.policy.address.IpAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The sandbox's /etc: a curated allowlist, not the host's. A few files are generated per sandbox
 * (who the user is, where DNS goes); a few host entries that programs need and that hold no secrets
 * are bound read-only; nothing else of the host's /etc exists inside (no shadow, no ssh keys, no
 * Airlock configuration, no other service's configuration).
 */
final class EtcFiles {

    /**
     * Host /etc entries bound read-only when they exist: dynamic linking, Debian's alternatives
     * (symlinks in /usr/bin point into /etc/alternatives), CA certificates (TLS passes through the
     * gateway end to end), time zone, shell start-up, and language runtimes' own configuration.
     */
    static final List<String> HOST_ENTRIES = List.of(
            "alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
            "ssl", "ca-certificates", "ca-certificates.conf", "pki", "crypto-policies",
            "localtime", "timezone", "locale.alias", "locale.conf", "default/locale",
            "os-release", "debian_version", "lsb-release",
            "protocols", "services", "mime.types", "magic", "magic.mime",
            "profile", "profile.d", "bash.bashrc", "inputrc", "terminfo", "skel",
            "gitconfig", "vim", "nanorc", "perl", "python3", "npmrc", "pip.conf", "maven",
            "java-17-openjdk", "java-21-openjdk", "java-25-openjdk");

    private EtcFiles() {
    }

    /** The generated files, by name under /etc. */
    static Map<String, String> generated(SandboxUser user, IpAddress hostAddress) {
        Map<String, String> files = new LinkedHashMap<>();
        StringBuilder passwd = new StringBuilder("root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n");
        StringBuilder group = new StringBuilder("root:x:0:\n");
        passwd.append(SandboxUser.NAME).append(":x:").append(user.uid()).append(':').append(user.gid())
                .append(":Airlock sandbox:").append(BwrapArgs.HOME).append(":/bin/sh\n");
        group.append(SandboxUser.NAME).append(":x:").append(user.gid()).append(":\n");
        if (user.uid() != SandboxUser.NOBODY) {
            passwd.append("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
        }
        if (user.gid() != SandboxUser.NOBODY) {
            group.append("nogroup:x:65534:\n");
        }
        files.put("passwd", passwd.toString());
        files.put("group", group.toString());
        files.put("hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tairlock\n");
        files.put("hostname", "airlock\n");
        // The only resolver: Airlock's DNS responder, reached through the host end of the link.
        files.put("resolv.conf", "nameserver " + hostAddress + "\noptions timeout:2 attempts:2\n");
        files.put("nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\n"
                + "protocols: files\nservices: files\nethers: files\nrpc: files\n");
        return files;
    }
}
