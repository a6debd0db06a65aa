package dev.airlock.sandbox;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The binaries the launcher runs, resolved once to absolute paths in the system directories. PATH
 * is not consulted: the launcher runs as root, and a PATH entry writable by someone else would
 * hand them root.
 */
record Tools(Path ip, Path nft, Path nsenter, Path setpriv, Path bwrap, Path sh, Path sysctl, Path mount, Path umount, Path setsid) {

    private static final List<Path> DIRS = List.of(Path.of("/usr/sbin"), Path.of("/usr/bin"), Path.of("/sbin"), Path.of("/bin"));

    static Tools resolve() throws SandboxException {
        List<String> missing = new ArrayList<>();
        Path ip = find("ip", missing);
        Path nft = find("nft", missing);
        Path nsenter = find("nsenter", missing);
        Path setpriv = find("setpriv", missing);
        Path bwrap = find("bwrap", missing);
        Path sh = find("sh", missing);
        Path sysctl = find("sysctl", missing);
        Path mount = find("mount", missing);
        Path umount = find("umount", missing);
        Path setsid = find("setsid", missing);
        if (!missing.isEmpty()) {
            throw new SandboxException("the sandbox launcher needs " + missing + " in " + DIRS
                    + ". Fix: apt-get install iproute2 nftables util-linux bubblewrap procps mount");
        }
        return new Tools(ip, nft, nsenter, setpriv, bwrap, sh, sysctl, mount, umount, setsid);
    }

    private static Path find(String name, List<String> missing) {
        Optional<Path> p = DIRS.stream().map(d -> d.resolve(name)).filter(Files::isExecutable).findFirst();
        if (p.isEmpty()) {
            missing.add(name);
            return null;
        }
        return p.get();
    }
}
