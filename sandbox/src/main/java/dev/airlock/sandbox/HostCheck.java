package dev.airlock.sandbox;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Whether this host can run sandboxes, with a fix for what it lacks: Linux, root with
 * CAP_SYS_ADMIN and CAP_NET_ADMIN, the tools, a cgroup hierarchy with the memory, cpu and pids
 * controllers, an nftables with TPROXY, and a kernel that lets bubblewrap make its unprivileged user
 * namespace. Read-only: it creates nothing but one {@code nft --check} and one throwaway bubblewrap.
 * {@link SandboxLauncher#checkHost()} is its entry point.
 */
final class HostCheck {

    private HostCheck() {
    }

    static void run() throws SandboxException {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            throw new SandboxException("sandboxes need Linux (namespaces, nftables, cgroups); this is " + System.getProperty("os.name")
                    + ". Fix: run Airlock on a Linux host or VM.");
        }
        Map<String, String> status = procStatus();
        String[] uids = status.getOrDefault("Uid", "-1 -1").split("\\s+");
        if (uids.length < 2 || !"0".equals(uids[1])) {
            throw new SandboxException("sandboxes need root to create namespaces, links, nftables tables and cgroups."
                    + " Fix: run `sudo airlock …` (files in the workspace stay yours: the sandbox runs as $SUDO_UID).");
        }
        long caps = Long.parseUnsignedLong(status.getOrDefault("CapEff", "0").trim(), 16);
        if ((caps & (1L << 12)) == 0 || (caps & (1L << 21)) == 0) {
            throw new SandboxException("root here lacks CAP_NET_ADMIN or CAP_SYS_ADMIN (a container without --privileged?)."
                    + " Fix: run Airlock on the host, or give its container those capabilities.");
        }
        Tools tools = Tools.resolve();
        CgroupLayout.detect();
        Host host = new SystemHost(tools);
        Host.Result nft = host.exec(List.of(tools.nft().toString(), "--check", "-f", "-"),
                "table inet alk_probe { chain p { type filter hook prerouting priority mangle; "
                        + "meta l4proto tcp tproxy ip to :9 meta mark set 1 accept; }; }\n");
        if (!nft.ok()) {
            throw new SandboxException("the kernel refuses nftables TPROXY: " + nft.err().strip()
                    + ". Fix: a kernel with CONFIG_NFT_TPROXY and CONFIG_NFT_SOCKET (Debian's has them), nftables >= 0.9.");
        }
        Host.Result bwrap = host.exec(List.of(tools.setpriv().toString(), "--reuid=" + SandboxUser.NOBODY, "--regid=" + SandboxUser.NOBODY,
                "--clear-groups", "--no-new-privs", "--", tools.bwrap().toString(), "--unshare-user", "--disable-userns",
                "--unshare-pid", "--ro-bind", "/", "/", "--", "/bin/true"), "");
        if (!bwrap.ok()) {
            throw new SandboxException("bubblewrap cannot create its sandbox as an unprivileged user: " + bwrap.err().strip()
                    + ". Fix: bubblewrap >= 0.8 (for --disable-userns), and unprivileged user namespaces enabled"
                    + " (sysctl kernel.unprivileged_userns_clone=1 on Debian, user.max_user_namespaces > 0; on Ubuntu 24.04,"
                    + " an AppArmor profile that allows bwrap).");
        }
    }

    private static Map<String, String> procStatus() {
        Map<String, String> m = new LinkedHashMap<>();
        String text = SystemKernelOps.readQuietly(Path.of("/proc/self/status"));
        if (text != null) {
            for (String line : text.split("\n")) {
                int c = line.indexOf(':');
                if (c > 0) {
                    m.put(line.substring(0, c), line.substring(c + 1).trim());
                }
            }
        }
        return m;
    }
}
