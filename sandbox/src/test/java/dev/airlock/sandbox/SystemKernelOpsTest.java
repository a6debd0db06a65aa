package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The privileged switch: every operation that does not have the launcher's exact shapes is refused
 * before any command runs or any file is touched.
 */
class SystemKernelOpsTest {

    private static final Tools TOOLS = FakeKernel.TOOLS;
    private static final Path ROOT = Path.of("/sys/fs/cgroup");
    private static final IpAddress HOST = Cidr.of("100.96.0.1").network();
    private static final IpAddress SANDBOX = Cidr.of("100.96.0.2").network();
    private static final String ID = "alk0123abcd";
    private static final Path STATE = Path.of("/var/lib/airlock");
    /** Shaped like a store's image root, but no store holds it here: refused as not an unpacked image. */
    private static final Path IMAGE = STATE.resolve("images/sha256-" + "ab".repeat(32) + "/rootfs");

    private final RecordingHost host = new RecordingHost();
    private final SystemKernelOps ops = new SystemKernelOps(TOOLS, new CgroupLayout.Unified(ROOT), host, Path.of("/run/airlock/sandbox"));

    static Stream<Arguments> refused() {
        String table = "table inet alk_0123abcd {\n\tchain c {\n\t}\n}\n";
        return Stream.of(
                Arguments.of("a host interface", new KernelOp.DeleteLink("eth0")),
                Arguments.of("docker's bridge", new KernelOp.DeleteLink("docker0")),
                Arguments.of("the kernel tests' link (alkt…)", new KernelOp.DeleteLink("alkt1234h")),
                Arguments.of("prefix alone", new KernelOp.DeleteNetns("alk")),
                Arguments.of("seven hex digits", new KernelOp.DeleteNetns("alk0123abc")),
                Arguments.of("nine hex digits", new KernelOp.DeleteNetns("alk0123abcde")),
                Arguments.of("upper-case hex", new KernelOp.DeleteNetns("alk0123ABCD")),
                Arguments.of("the kernel tests' namespace", new KernelOp.DeleteNetns("alk-t1234-sbx")),
                Arguments.of("a null name", new KernelOp.CreateNetns(null)),
                Arguments.of("a path in the name", new KernelOp.CreateNetns("alk0123abcd/../x")),
                Arguments.of("veth ends of different sandboxes", new KernelOp.CreateVethPair("alk0123abcdh", "alk99999999s", ID)),
                Arguments.of("veth peer into another namespace", new KernelOp.CreateVethPair("alk0123abcdh", "alk0123abcds", "alk99999999")),
                Arguments.of("host side named like a sandbox side", new KernelOp.CreateVethPair("alk0123abcds", "alk0123abcdh", ID)),
                Arguments.of("a default route in the host", new KernelOp.AddDefaultRoute(null, HOST)),
                Arguments.of("an IPv6 default route", new KernelOp.AddDefaultRoute(ID, Cidr.of("fe80::1").network())),
                Arguments.of("an address on eth0", new KernelOp.AddAddress(null, "eth0", HOST, 30)),
                Arguments.of("a /24 on a link", new KernelOp.AddAddress(null, "alk0123abcdh", HOST, 24)),
                Arguments.of("another sandbox's link", new KernelOp.AddAddress(ID, "alk99999999s", SANDBOX, 30)),
                Arguments.of("eth0 up", new KernelOp.SetLinkUp(null, "eth0")),
                Arguments.of("host ip_forward", new KernelOp.Sysctl(null, List.of("net.ipv4.ip_forward"), "1")),
                Arguments.of("host-wide disable_ipv6", new KernelOp.Sysctl(null, List.of("net.ipv6.conf.all.disable_ipv6"), "1")),
                Arguments.of("forwarding in a sandbox", new KernelOp.Sysctl(ID, List.of("net.ipv4.ip_forward"), "1")),
                Arguments.of("a sysctl value that is not a number", new KernelOp.Sysctl(ID, List.of("net.ipv6.conf.all.disable_ipv6"), "1 2")),
                Arguments.of("the host's filter table", new KernelOp.DeleteNftTable("filter")),
                Arguments.of("the kernel tests' table", new KernelOp.DeleteNftTable("alk_t1234")),
                Arguments.of("a ruleset that flushes everything",
                        new KernelOp.ApplyNftRuleset(null, "alk_0123abcd", table + "flush ruleset\n")),
                Arguments.of("a ruleset with a second table",
                        new KernelOp.ApplyNftRuleset(null, "alk_0123abcd", table + "table ip nat {\n}\n")),
                Arguments.of("a ruleset for another table", new KernelOp.ApplyNftRuleset(null, "alk_0123abcd", "table inet filter {\n}\n")),
                Arguments.of("a ruleset that deletes", new KernelOp.ApplyNftRuleset(null, "alk_0123abcd", table + "delete table inet filter\n")),
                Arguments.of("a table in another sandbox's namespace", new KernelOp.ApplyNftRuleset("alk99999999", "alk_0123abcd", table)),
                Arguments.of("someone else's fwmark", new KernelOp.AddPolicyRule(0x4000, PolicyRoute.TABLE, PolicyRoute.PRIORITY)),
                Arguments.of("the main table", new KernelOp.AddPolicyRule(PolicyRoute.MARK, 254, PolicyRoute.PRIORITY)),
                Arguments.of("another priority", new KernelOp.AddPolicyRule(PolicyRoute.MARK, PolicyRoute.TABLE, 0)),
                Arguments.of("deleting someone else's rule", new KernelOp.DeletePolicyRule(0x80000, 52)),
                Arguments.of("systemd's slice", new KernelOp.KillCgroup(ROOT.resolve("system.slice"))),
                Arguments.of("the cgroup root itself", new KernelOp.DeleteCgroup(ROOT)),
                Arguments.of("a nested cgroup", new KernelOp.CreateCgroup(ROOT.resolve("user.slice/alk0123abcd"))),
                Arguments.of("a dot-dot path", new KernelOp.KillCgroup(Path.of("/sys/fs/cgroup/alk0123abcd/../init.scope"))),
                Arguments.of("a dot-dot path with an alk name", new KernelOp.DeleteCgroup(Path.of("/sys/fs/cgroup/x/../alk0123abcd"))),
                Arguments.of("a relative cgroup", new KernelOp.CreateCgroup(Path.of("alk0123abcd"))),
                Arguments.of("an alk directory elsewhere", new KernelOp.DeleteCgroup(Path.of("/tmp/alk0123abcd"))),
                Arguments.of("moving a process by limit", new KernelOp.SetCgroupLimit(ROOT.resolve(ID), "cgroup.procs", "1")),
                Arguments.of("a limit with shell text", new KernelOp.SetCgroupLimit(ROOT.resolve(ID), "pids.max", "1; reboot")),
                Arguments.of("enabling cpuset", new KernelOp.EnableControllers(ROOT, List.of("cpuset"))),
                Arguments.of("enabling below the root", new KernelOp.EnableControllers(ROOT.resolve("user.slice"), List.of("pids"))),
                Arguments.of("an overlay over /etc", new KernelOp.MountOverlay(STATE, ID, Path.of("/etc"), 1000, 1000)),
                Arguments.of("an overlay over the templates root itself",
                        new KernelOp.MountOverlay(STATE, ID, STATE.resolve("templates/demo"), 1000, 1000)),
                Arguments.of("an overlay lower path that climbs out with ..",
                        new KernelOp.MountOverlay(STATE, ID, Path.of("/var/lib/airlock/templates/demo/../../../../etc"), 1000, 1000)),
                Arguments.of("a lower path smuggling a mount option after a comma",
                        new KernelOp.MountOverlay(STATE, ID, Path.of("/var/lib/airlock/templates/demo/t,upperdir=/etc"), 1000, 1000)),
                Arguments.of("a lower path with a colon (a second lower layer)",
                        new KernelOp.MountOverlay(STATE, ID, Path.of("/var/lib/airlock/templates/demo/t:/root"), 1000, 1000)),
                Arguments.of("a relative state directory", new KernelOp.MountOverlay(Path.of("state"), ID, Path.of("state/templates/demo/t"),
                        1000, 1000)),
                Arguments.of("an overlay mounted under a name without the prefix",
                        new KernelOp.MountOverlay(STATE, "home", STATE.resolve("templates/demo/t"), 1000, 1000)),
                Arguments.of("a template that does not exist",
                        new KernelOp.MountOverlay(STATE, ID, STATE.resolve("templates/demo/nothing-here"), 1000, 1000)),
                Arguments.of("unmounting a name without the prefix", new KernelOp.UnmountOverlay(STATE, "..")),
                Arguments.of("unmounting under a relative state directory", new KernelOp.UnmountOverlay(Path.of("var"), ID)),
                Arguments.of("a writable root owned by uid 0 (the host's root)",
                        new KernelOp.MountSetupRoot(STATE, ID, "demo", "0123abcd", IMAGE, 0, 0)),
                Arguments.of("a writable root over a host directory, not a store's image",
                        new KernelOp.MountSetupRoot(STATE, ID, "demo", "0123abcd", Path.of("/usr"), 1000, 1000)),
                Arguments.of("a writable root over an image path smuggling a second lower directory",
                        new KernelOp.MountSetupRoot(STATE, ID, "demo", "0123abcd", Path.of(IMAGE + ":/root"), 1000, 1000)),
                Arguments.of("a layer name that climbs out", new KernelOp.MountSetupRoot(STATE, ID, "demo", "../../../etc", IMAGE, 1000, 1000)),
                Arguments.of("a layer name with upper-case hex", new KernelOp.MountSetupRoot(STATE, ID, "demo", "0123ABCD", IMAGE, 1000, 1000)),
                Arguments.of("a project name that climbs out", new KernelOp.MountSetupRoot(STATE, ID, "..", "0123abcd", IMAGE, 1000, 1000)),
                Arguments.of("a writable root mounted under a name without the prefix",
                        new KernelOp.MountSetupRoot(STATE, "home", "demo", "0123abcd", IMAGE, 1000, 1000)),
                Arguments.of("a writable root under a relative state directory",
                        new KernelOp.MountSetupRoot(Path.of("state"), ID, "demo", "0123abcd", IMAGE, 1000, 1000)),
                Arguments.of("a stacked root over a host directory", new KernelOp.MountStackedRoot(STATE, ID, "demo", "0123abcd", Path.of("/"))),
                Arguments.of("a stacked root of another project's name shape", new KernelOp.MountStackedRoot(STATE, ID, "Demo/x", "0123abcd", IMAGE)),
                Arguments.of("sealing a layer named like a path", new KernelOp.SealRootLayer(STATE, "demo", "../templates")),
                Arguments.of("sealing under a relative state directory", new KernelOp.SealRootLayer(Path.of("var"), "demo", "0123abcd")),
                Arguments.of("removing /etc", new KernelOp.DeleteTree(STATE, Path.of("/etc"))),
                Arguments.of("removing the state directory itself", new KernelOp.DeleteTree(STATE, STATE)),
                Arguments.of("removing the whole templates area", new KernelOp.DeleteTree(STATE, STATE.resolve("templates"))),
                Arguments.of("removing a state directory's records", new KernelOp.DeleteTree(STATE, STATE.resolve("sandboxes"))),
                Arguments.of("removing out of an area by ..", new KernelOp.DeleteTree(STATE, Path.of("/var/lib/airlock/kept/../../../etc"))),
                Arguments.of("removing a relative path", new KernelOp.DeleteTree(STATE, Path.of("var/lib/airlock/kept/alk0123abcd"))),
                Arguments.of("removing under a relative state directory", new KernelOp.DeleteTree(Path.of("var"), Path.of("var/kept/x"))),
                Arguments.of("removing a user's directory beside the member workspaces",
                        new KernelOp.DeleteTree(STATE, Path.of("/var/lib/airlock-workspaces/demo/src"))),
                Arguments.of("removing the whole audits' area", new KernelOp.DeleteTree(STATE, Path.of("/var/lib/airlock-audits"))),
                Arguments.of("removing a directory in the audits' area not named like an audit's",
                        new KernelOp.DeleteTree(STATE, Path.of("/var/lib/airlock-audits/etc"))),
                Arguments.of("re-owning below a directory in the audits' area not named like an audit's",
                        new KernelOp.ChownTree(STATE, Path.of("/var/lib/airlock-audits/home/user"), 1000, 1000)),
                Arguments.of("re-owning /home", new KernelOp.ChownTree(STATE, Path.of("/home"), 1000, 1000)),
                Arguments.of("re-owning the staging area itself", new KernelOp.ChownTree(STATE, STATE.resolve("staging"), 1000, 1000)),
                Arguments.of("re-owning to a negative uid", new KernelOp.ChownTree(STATE, STATE.resolve("staging/demo-0123abcd/tree"), -1, 1000)),
                Arguments.of("creating a workspace outside the member workspaces",
                        new KernelOp.CreateWorkspace(STATE, Path.of("/var/lib/airlock/templates/w-0123abcd"), 1000, 1000)),
                Arguments.of("creating a workspace not named like a member's",
                        new KernelOp.CreateWorkspace(STATE, Path.of("/var/lib/airlock-workspaces/demo/etc"), 1000, 1000)));
    }

    @ParameterizedTest(name = "refuses {0}")
    @MethodSource("refused")
    void execute_refusesBeforeAnyCommandRuns(String row, KernelOp op) {
        assertThatThrownBy(() -> ops.execute(op)).isInstanceOf(SandboxException.class).hasMessageContaining("refused");
        assertThat(host.calls).as(row).isEmpty();
    }

    @Test
    void execute_oneRefusedOperationInACall_runsNoneOfIt() {
        List<KernelOp> call = List.of(new KernelOp.CreateNetns(ID), new KernelOp.DeleteLink("eth0"));
        assertThatThrownBy(() -> ops.execute(call)).isInstanceOf(SandboxException.class);
        assertThat(host.calls).isEmpty();
    }

    @Test
    void execute_network_batchesIpLinesPerNamespace() throws SandboxException {
        host.existing.add(Path.of("/proc/sys/net/ipv6"));
        ops.execute(List.of(
                new KernelOp.CreateNetns(ID),
                new KernelOp.CreateVethPair("alk0123abcdh", "alk0123abcds", ID),
                new KernelOp.Sysctl(ID, List.of("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"), "1"),
                new KernelOp.Sysctl(null, List.of("net.ipv6.conf.alk0123abcdh.disable_ipv6"), "1"),
                new KernelOp.AddAddress(null, "alk0123abcdh", HOST, 30),
                new KernelOp.SetLinkUp(null, "alk0123abcdh"),
                new KernelOp.SetLinkUp(ID, "lo"),
                new KernelOp.AddAddress(ID, "alk0123abcds", SANDBOX, 30),
                new KernelOp.SetLinkUp(ID, "alk0123abcds"),
                new KernelOp.AddDefaultRoute(ID, HOST)));
        assertThat(host.calls).containsExactly(
                "exec /usr/sbin/ip -batch - <<< netns add alk0123abcd;link add alk0123abcdh type veth peer name alk0123abcds netns alk0123abcd",
                "exec /usr/bin/nsenter --net=/run/netns/alk0123abcd -- /usr/sbin/sysctl -q -w net.ipv6.conf.all.disable_ipv6=1"
                        + " net.ipv6.conf.default.disable_ipv6=1",
                "write /proc/sys/net/ipv6/conf/alk0123abcdh/disable_ipv6 1",
                "exec /usr/sbin/ip -batch - <<< addr add 100.96.0.1/30 dev alk0123abcdh;link set alk0123abcdh up",
                "exec /usr/sbin/ip -n alk0123abcd -batch - <<< link set lo up;addr add 100.96.0.2/30 dev alk0123abcds;"
                        + "link set alk0123abcds up;route add default via 100.96.0.1");
    }

    @Test
    void execute_sysctlOnAKernelWithoutIpv6_isNothing() throws SandboxException {
        ops.execute(new KernelOp.Sysctl(ID, List.of("net.ipv6.conf.all.disable_ipv6"), "1"));
        assertThat(host.calls).isEmpty();
    }

    @Test
    void execute_nftRuleset_replacesTheTableInOneTransaction() throws SandboxException {
        String ruleset = Rulesets.sandbox("alk_0123abcd", "alk0123abcds", HOST, SANDBOX);
        ops.execute(new KernelOp.ApplyNftRuleset(ID, "alk_0123abcd", ruleset));
        assertThat(host.calls).singleElement().asString()
                .startsWith("exec /usr/bin/nsenter --net=/run/netns/alk0123abcd -- /usr/sbin/nft -f - <<< "
                        + "add table inet alk_0123abcd;delete table inet alk_0123abcd;table inet alk_0123abcd {");
    }

    @Test
    void execute_deletions_skipObjectsThatAreGone() throws SandboxException {
        host.existing.add(SystemKernelOps.NETNS_DIR.resolve(ID));
        ops.execute(List.of(new KernelOp.DeleteLink("alk0123abcdh"), new KernelOp.DeleteNetns(ID), new KernelOp.DeleteCgroup(ROOT.resolve(ID)),
                new KernelOp.KillCgroup(ROOT.resolve(ID))));
        assertThat(host.calls).containsExactly("exec /usr/sbin/ip -batch - <<< netns del alk0123abcd", "rmdir /sys/fs/cgroup/alk0123abcd");
    }

    @Test
    void execute_killCgroupV2_writesCgroupKill_andWaitsUntilEmpty() throws SandboxException {
        Path dir = ROOT.resolve(ID);
        host.existing.add(dir);
        host.existing.add(dir.resolve("cgroup.kill"));
        host.contents.put(dir.resolve("cgroup.events"), "populated 0\nfrozen 0\n");
        ops.execute(new KernelOp.KillCgroup(dir));
        assertThat(host.calls).containsExactly("write /sys/fs/cgroup/alk0123abcd/cgroup.kill 1");
    }

    @Test
    void execute_killCgroupV1_freezesKillsListedPidsOnlyThenThaws() throws SandboxException {
        Path freezerRoot = Path.of("/sys/fs/cgroup/freezer");
        SystemKernelOps v1 = new SystemKernelOps(TOOLS, new CgroupLayout.Legacy(Path.of("/sys/fs/cgroup/memory"), Path.of("/sys/fs/cgroup/cpu"),
                Path.of("/sys/fs/cgroup/pids"), freezerRoot), host, Path.of("/run/airlock/sandbox"));
        Path dir = freezerRoot.resolve(ID);
        host.existing.add(dir);
        host.contents.put(dir.resolve("freezer.state"), "FROZEN\n");
        host.contents.put(dir.resolve("cgroup.procs"), "101\n102\n");
        // the kernel empties the cgroup once the kills land
        host.onKill = pid -> host.contents.put(dir.resolve("cgroup.procs"), "");
        v1.execute(new KernelOp.KillCgroup(dir));
        assertThat(host.calls).containsExactly("write /sys/fs/cgroup/freezer/alk0123abcd/freezer.state FROZEN", "kill 101", "kill 102",
                "write /sys/fs/cgroup/freezer/alk0123abcd/freezer.state THAWED");
    }

    @Test
    void execute_policyRule_addsRouteThenRule_andToleratesAnotherLaunchersRule() throws SandboxException {
        host.results = argv -> argv.contains("rule") ? new Host.Result(argv, 2, "", "RTNETLINK answers: File exists")
                : new Host.Result(argv, 0, "", "");
        ops.execute(new KernelOp.AddPolicyRule(PolicyRoute.MARK, PolicyRoute.TABLE, PolicyRoute.PRIORITY));
        assertThat(host.calls).containsExactly(
                "exec /usr/sbin/ip -batch - <<< route replace local 0.0.0.0/0 dev lo table 1095499776",
                "exec /usr/sbin/ip rule add fwmark 0x414c0000 lookup 1095499776 pref 100");
    }

    @Test
    void execute_failedCommand_saysWhichAndItsStderr() {
        host.results = argv -> new Host.Result(argv, 2, "", "Cannot find device \"alk0123abcdh\"");
        assertThatThrownBy(() -> ops.execute(new KernelOp.SetLinkUp(null, "alk0123abcdh")))
                .isInstanceOf(SandboxException.class)
                .hasMessageContaining("/usr/sbin/ip -batch -")
                .hasMessageContaining("Cannot find device")
                .hasMessageContaining("Fix:");
    }

    @Test
    void execute_mountOverlay_derivesEveryPathFromStateAndId_andMountsNosuidNodev(@org.junit.jupiter.api.io.TempDir Path tmp)
            throws Exception {
        Path lower = java.nio.file.Files.createDirectories(tmp.resolve("templates/demo/c0ffee-e1/tree"));
        host.existing.add(lower);
        ops.execute(new KernelOp.MountOverlay(tmp, ID, lower, 1000, 1000));
        assertThat(host.calls).contains(
                "chown " + tmp + "/sandboxes/alk0123abcd/upper 1000:1000",
                "chmod " + tmp + "/overlays rwx--x--x",
                "chmod " + tmp + "/sandboxes/alk0123abcd rwx------",
                "exec /usr/bin/mount -t overlay -o nosuid,nodev,lowerdir=" + lower + ",upperdir=" + tmp + "/sandboxes/alk0123abcd/upper,workdir="
                        + tmp + "/sandboxes/alk0123abcd/work alk0123abcd " + tmp + "/overlays/alk0123abcd");
    }

    @Test
    void execute_treeOperationsBelowAnArea_runAsOneStepEach() throws Exception {
        ops.execute(List.of(new KernelOp.DeleteTree(STATE, STATE.resolve("kept/alk0123abcd")),
                new KernelOp.DeleteTree(STATE, Path.of("/var/lib/airlock-workspaces/demo/w-0123abcd")),
                new KernelOp.ChownTree(STATE, STATE.resolve("staging/demo-0123abcd/tree"), 1000, 1000),
                new KernelOp.CreateWorkspace(STATE, Path.of("/var/lib/airlock-workspaces/demo/w-0123abcd"), 1000, 1000),
                new KernelOp.ChownTree(STATE, Path.of("/var/lib/airlock-audits/a-0123abcd/workspace/out"), 1000, 1000),
                new KernelOp.DeleteTree(STATE, Path.of("/var/lib/airlock-audits/a-0123abcd"))));
        assertThat(host.calls).containsExactly(
                "deleteTree /var/lib/airlock/kept/alk0123abcd",
                "deleteTree /var/lib/airlock-workspaces/demo/w-0123abcd keeping mounts",
                "chownTree /var/lib/airlock/staging/demo-0123abcd/tree 1000:1000",
                "createWorkspace /var/lib/airlock-workspaces/demo/w-0123abcd 1000:1000",
                "chownTree /var/lib/airlock-audits/a-0123abcd/workspace/out 1000:1000",
                "deleteTree /var/lib/airlock-audits/a-0123abcd");
    }

    @Test
    void execute_mountOverlayOwnedByRoot_isRefused(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path lower = java.nio.file.Files.createDirectories(tmp.resolve("templates/demo/c0ffee-e1/tree"));
        host.existing.add(lower);
        assertThatThrownBy(() -> ops.execute(new KernelOp.MountOverlay(tmp, ID, lower, 0, 0))).hasMessageContaining("uid or gid 0");
        assertThat(host.calls).isEmpty();
    }

    @Test
    void execute_unmountOverlay_unmountsOnlyWhatMountinfoLists_thenRemovesItsDirectories() throws Exception {
        Path point = STATE.resolve("overlays").resolve(ID);
        host.contents.put(StepRunner.MOUNTINFO, "");
        ops.execute(new KernelOp.UnmountOverlay(STATE, ID));
        assertThat(host.calls).containsExactly("rmdir " + point, "deleteTree " + STATE.resolve("sandboxes").resolve(ID));
    }

    @Test
    void parseOverlayMounts_keepsOverlayMountPoints_unescaped() {
        String info = """
                22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
                98 22 0:52 / /var/lib/airlock/overlays/alk0123abcd rw,nosuid,nodev shared:60 - overlay alk0123abcd rw,lowerdir=/x
                99 22 0:53 / /srv/with\\040space rw - overlay overlay rw,lowerdir=/y
                100 22 0:54 / /run/user/0 rw - tmpfs tmpfs rw
                """;
        assertThat(StepRunner.parseOverlayMounts(info)).containsExactly(Path.of("/var/lib/airlock/overlays/alk0123abcd"),
                Path.of("/srv/with space"));
    }

    // ---------------------------------------------------------------------------------------------
    // The privileged start

    private Launch launch(int uid, List<String> args) {
        return launch(uid, args, false);
    }

    private Launch launch(int uid, List<String> args, boolean ownSession) {
        return new Launch(List.of(ROOT.resolve(ID)), ID, uid, uid, args, List.of("/bin/true"), ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE, ownSession);
    }

    private List<String> args(int uid) {
        return BwrapArgs.build(new SandboxUser(uid, uid), Path.of("/srv/ws"), Path.of("/run/airlock/sandbox/" + ID + "/etc"),
                EtcFiles.generated(new SandboxUser(uid, uid), HOST), java.util.Map.of());
    }

    @Test
    void start_joinsCgroupsThenNetnsThenDropsToTheUserThenBwrap() throws Exception {
        host.existing.add(SystemKernelOps.NETNS_DIR.resolve(ID));
        host.existing.add(ROOT.resolve(ID));
        ops.start(launch(1000, args(1000))).waitFor();
        assertThat(host.calls).singleElement().asString()
                .startsWith("start /bin/sh -c " + SystemKernelOps.JOIN_SCRIPT + " airlock-join 1 /sys/fs/cgroup/alk0123abcd"
                        + " /usr/bin/nsenter --net=/run/netns/alk0123abcd -- /usr/bin/setpriv --reuid=1000 --regid=1000 --clear-groups"
                        + " --no-new-privs -- /usr/bin/bwrap --unshare-user --disable-userns")
                .endsWith("--remount-ro / -- /bin/true");
    }

    @Test
    void start_inOwnSession_runsTheSameChainUnderSetsid() throws Exception {
        host.existing.add(SystemKernelOps.NETNS_DIR.resolve(ID));
        host.existing.add(ROOT.resolve(ID));
        ops.start(launch(1000, args(1000), true)).waitFor();
        ops.start(launch(1000, args(1000), false)).waitFor();
        assertThat(host.calls).hasSize(2);
        // the daemon's sandboxes: setsid first, then exactly the chain a run in the caller's session gets
        assertThat(host.calls.get(0)).isEqualTo(host.calls.get(1).replace("start /bin/sh ", "start /usr/bin/setsid /bin/sh "));
        assertThat(host.calls.get(1)).startsWith("start /bin/sh -c ");
    }

    static Stream<Arguments> refusedLaunches() {
        return Stream.of(
                Arguments.of("uid 0", 0, (java.util.function.UnaryOperator<List<String>>) a -> a),
                Arguments.of("without --disable-userns", 1000, without("--disable-userns")),
                Arguments.of("without --unshare-user", 1000, without("--unshare-user")),
                Arguments.of("with --cap-add", 1000, plus(List.of("--cap-add", "CAP_NET_ADMIN"))),
                Arguments.of("binding the host root read-write", 1000, plus(List.of("--bind", "/", "/host"))),
                Arguments.of("binding docker.sock", 1000, plus(List.of("--ro-bind", "/run/docker.sock", "/run/docker.sock"))),
                Arguments.of("an unknown option", 1000, plus(List.of("--share-net"))),
                Arguments.of("a command hidden after --", 1000, plus(List.of("--", "sh"))));
    }

    private static java.util.function.UnaryOperator<List<String>> without(String flag) {
        return a -> a.stream().filter(x -> !x.equals(flag)).toList();
    }

    /** Inserts before the final --remount-ro /, or appends after it for the last rows. */
    private static java.util.function.UnaryOperator<List<String>> plus(List<String> extra) {
        return a -> {
            List<String> out = new ArrayList<>(a.subList(0, a.size() - 2));
            out.addAll(extra);
            out.addAll(a.subList(a.size() - 2, a.size()));
            return out;
        };
    }

    @ParameterizedTest(name = "refuses a launch {0}")
    @MethodSource("refusedLaunches")
    void start_refusesLaunchesThatUndoTheSandbox(String row, int uid, java.util.function.UnaryOperator<List<String>> edit) {
        host.existing.add(SystemKernelOps.NETNS_DIR.resolve(ID));
        host.existing.add(ROOT.resolve(ID));
        List<String> a = edit.apply(args(uid == 0 ? 1000 : uid));
        assertThatThrownBy(() -> ops.start(launch(uid, a))).as(row).isInstanceOf(SandboxException.class);
        assertThat(host.calls).isEmpty();
    }

    @Test
    void start_destroyedSandbox_isRefused() {
        assertThatThrownBy(() -> ops.start(launch(1000, args(1000)))).hasMessageContaining("no network namespace");
        assertThat(host.calls).isEmpty();
    }

    @Test
    void parseStartTicks_commandNamesWithSpacesAndParentheses() {
        String stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100";
        assertThat(SystemKernelOps.parseStartTicks(stat)).isEqualTo(987654);
    }
}
