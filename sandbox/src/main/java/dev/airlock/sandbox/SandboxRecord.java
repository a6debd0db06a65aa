package dev.airlock.sandbox;

import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the launcher writes before it creates a sandbox's first kernel object: who owns it, its
 * link, and every object it will have. Written twice, with the same content: in the launcher's
 * state directory ({@code <stateDir>/sandboxes/<id>.json}) and as the machine-wide lease
 * ({@code /run/airlock/sandbox/<id>.json}) that tells every other launcher on the host that the
 * sandbox and its /30 are taken, and by whom.
 */
record SandboxRecord(String id, String project, Owner owner, int slot, Cidr link, IpAddress hostAddress,
        IpAddress sandboxAddress, Path workspace, List<Path> cgroups, Path primaryCgroup, Path runFiles, long createdMillis,
        Optional<OverlayRef> overlay) {

    static final int VERSION = 1;

    /**
     * A copy-on-write workspace: the state directory whose {@code overlays/} and {@code sandboxes/}
     * hold its mount point and upper directory ({@link Overlays}), and the template tree below it.
     */
    record OverlayRef(Path state, Path lower) {
    }

    SandboxRecord {
        cgroups = List.copyOf(cgroups);
        overlay = overlay == null ? Optional.empty() : overlay;
    }

    SandboxRecord(String id, String project, Owner owner, int slot, Cidr link, IpAddress hostAddress, IpAddress sandboxAddress,
            Path workspace, List<Path> cgroups, Path primaryCgroup, Path runFiles, long createdMillis) {
        this(id, project, owner, slot, link, hostAddress, sandboxAddress, workspace, cgroups, primaryCgroup, runFiles, createdMillis,
                Optional.empty());
    }

    String netns() {
        return Names.netns(id);
    }

    String hostLink() {
        return Names.hostLink(id);
    }

    String sandboxLink() {
        return Names.sandboxLink(id);
    }

    String nftTable() {
        return Names.nftTable(id);
    }

    PreparedSandbox prepared() {
        return new PreparedSandbox(id, netns(), hostLink(), sandboxLink(), hostAddress, sandboxAddress, nftTable(), primaryCgroup,
                workspace);
    }

    SandboxRecord withOwner(Owner o) {
        return new SandboxRecord(id, project, o, slot, link, hostAddress, sandboxAddress, workspace, cgroups, primaryCgroup, runFiles,
                createdMillis, overlay);
    }

    /** Every object, in creation order, as a person reading the record would name it. */
    List<String> objects() {
        List<String> o = new ArrayList<>(List.of("netns " + netns(), "link " + hostLink() + " (peer " + sandboxLink() + " in " + netns() + ")",
                "nft table inet " + nftTable() + " (host; and one in " + netns() + ")"));
        cgroups.forEach(c -> o.add("cgroup " + c));
        overlay.ifPresent(v -> o.add("overlay " + Overlays.mountPoint(v.state(), id) + " (lower " + v.lower() + ", upper "
                + Overlays.upper(v.state(), id) + ")"));
        o.add("files " + runFiles);
        return o;
    }

    String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", VERSION);
        m.put("id", id);
        m.put("project", project);
        m.put("ownerPid", owner.pid());
        m.put("ownerStartTicks", owner.startTicks());
        m.put("slot", slot);
        m.put("link", link.toString());
        m.put("hostAddress", hostAddress.toString());
        m.put("sandboxAddress", sandboxAddress.toString());
        m.put("workspace", workspace.toString());
        m.put("cgroups", cgroups.stream().map(Path::toString).toList());
        m.put("primaryCgroup", primaryCgroup.toString());
        m.put("runFiles", runFiles.toString());
        m.put("createdMillis", createdMillis);
        overlay.ifPresent(v -> {
            m.put("overlayState", v.state().toString());
            m.put("overlayLower", v.lower().toString());
        });
        m.put("objects", objects());
        return FlatJson.write(m);
    }

    static SandboxRecord fromJson(String json) {
        Map<String, Object> m = FlatJson.parse(json);
        if (!Long.valueOf(VERSION).equals(m.get("version"))) {
            throw new IllegalArgumentException("unknown record version " + m.get("version"));
        }
        String id = str(m, "id");
        if (!Names.isId(id)) {
            throw new IllegalArgumentException("not a sandbox id: " + id);
        }
        @SuppressWarnings("unchecked")
        List<String> cgroups = (List<String>) m.get("cgroups");
        return new SandboxRecord(id, str(m, "project"), new Owner(num(m, "ownerPid"), num(m, "ownerStartTicks")), (int) num(m, "slot"),
                Cidr.of(str(m, "link")), Cidr.of(str(m, "hostAddress")).network(), Cidr.of(str(m, "sandboxAddress")).network(),
                Path.of(str(m, "workspace")), cgroups.stream().map(Path::of).toList(), Path.of(str(m, "primaryCgroup")),
                Path.of(str(m, "runFiles")), num(m, "createdMillis"),
                m.containsKey("overlayState") ? Optional.of(new OverlayRef(Path.of(str(m, "overlayState")), Path.of(str(m, "overlayLower"))))
                        : Optional.empty());
    }

    private static String str(Map<String, Object> m, String k) {
        if (!(m.get(k) instanceof String s)) {
            throw new IllegalArgumentException("record field " + k + " missing or not a string");
        }
        return s;
    }

    private static long num(Map<String, Object> m, String k) {
        if (!(m.get(k) instanceof Long l)) {
            throw new IllegalArgumentException("record field " + k + " missing or not a number");
        }
        return l;
    }
}
