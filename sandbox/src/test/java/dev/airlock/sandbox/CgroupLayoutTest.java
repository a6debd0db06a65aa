package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CgroupLayoutTest {

    /** Debian 12's default: one cgroup2 mount with every controller. */
    @Test
    void fromMountinfo_unified() throws SandboxException {
        List<String> mi = List.of("30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot");
        CgroupLayout l = CgroupLayout.fromMountinfo(mi, p -> Map.of(Path.of("/sys/fs/cgroup/cgroup.controllers"),
                "cpuset cpu io memory hugetlb pids rdma misc\n").get(p));
        assertThat(l).isEqualTo(new CgroupLayout.Unified(Path.of("/sys/fs/cgroup")));
        assertThat(l.dirs("alk0123abcd")).containsExactly(Path.of("/sys/fs/cgroup/alk0123abcd"));
    }

    /** The hybrid layout of this project's build VM: v1 controllers, a v2 mount with none of them. */
    @Test
    void fromMountinfo_hybrid_usesTheV1Hierarchies() throws SandboxException {
        List<String> mi = List.of(
                "25 24 0:22 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
                "26 25 0:23 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
                "27 25 0:24 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
                "28 25 0:25 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer",
                "29 25 0:26 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
                "30 25 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw");
        CgroupLayout l = CgroupLayout.fromMountinfo(mi, p -> p.toString().endsWith("unified/cgroup.controllers") ? "hugetlb\n" : null);
        assertThat(l).isEqualTo(new CgroupLayout.Legacy(Path.of("/sys/fs/cgroup/memory"), Path.of("/sys/fs/cgroup/cpu"),
                Path.of("/sys/fs/cgroup/pids"), Path.of("/sys/fs/cgroup/freezer")));
        assertThat(l.primary("alk0123abcd")).isEqualTo(Path.of("/sys/fs/cgroup/pids/alk0123abcd"));
    }

    @Test
    void fromMountinfo_coMountedCpuAndCpuacct() throws SandboxException {
        List<String> mi = List.of(
                "26 25 0:23 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
                "27 25 0:24 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
                "29 25 0:26 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids");
        CgroupLayout.Legacy l = (CgroupLayout.Legacy) CgroupLayout.fromMountinfo(mi, p -> null);
        assertThat(l.cpu()).isEqualTo(Path.of("/sys/fs/cgroup/cpu,cpuacct"));
        assertThat(l.freezer()).isNull();
    }

    @Test
    void fromMountinfo_noControllers_failsWithAFix() {
        assertThatThrownBy(() -> CgroupLayout.fromMountinfo(List.of(), p -> null)).isInstanceOf(SandboxException.class)
                .hasMessageContaining("Fix:");
    }
}
