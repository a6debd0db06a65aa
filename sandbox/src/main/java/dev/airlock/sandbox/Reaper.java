package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Removes what crashed runs left on this host: sandboxes whose owner is dead (by record or
 * lease), {@code alk} objects of the exact shapes that no live lease claims, and member
 * workspaces no sandbox holds. It finds them; the teardown of one sandbox is its launcher's, the
 * same as {@link SandboxLauncher#destroy} runs ({@link Sandboxes}). Every step runs under the
 * machine-wide lock of the {@link Registry}.
 */
final class Reaper {

    /** What the reaper asks of the launcher for one sandbox it found orphaned. */
    interface Sandboxes {
        /** The launcher's teardown of sandbox {@code id}'s kernel objects; the failures. */
        List<String> tearDown(String id, List<Path> cgroups, List<Path> overlayStates);

        /** The state directories whose overlay of sandbox {@code id} may exist. */
        List<Path> overlayStates(String id, Optional<SandboxRecord> record);

        /** Removes member workspace {@code ws} through the kernel; what could not be removed. */
        List<String> deleteWorkspace(Path ws);
    }

    private final Path state;
    private final Path records;
    private final KernelOps ops;
    private final CgroupLayout layout;
    private final Registry registry;
    /** The sandboxes the launcher holds now: alive whatever their records say. */
    private final Supplier<List<SandboxRecord>> held;
    private final Sandboxes launcher;
    private final Consumer<String> warnings;

    Reaper(Path state, KernelOps ops, Registry registry, Supplier<List<SandboxRecord>> held, Sandboxes launcher,
            Consumer<String> warnings) {
        this.state = state;
        this.records = state.resolve("sandboxes");
        this.ops = ops;
        this.layout = ops.cgroups();
        this.registry = registry;
        this.held = held;
        this.launcher = launcher;
        this.warnings = warnings;
    }

    /**
     * Removes what crashed runs left: every sandbox whose record or lease names a dead owner (PID
     * gone, or reused: the start time differs), and every object of the exact {@code alk} shapes
     * (namespace, link, nftables table, cgroup, files) that no live lease claims. Their processes
     * are killed only through their own cgroups. Removes the shared TPROXY rule when no lease is
     * left. Runs under the machine-wide lock; never throws, reports.
     */
    ReapReport reap() {
        List<String> sandboxes = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        try {
            registry.locked(() -> {
                // A command a crashed owner had started dies with it (pdeathsig), but the system
                // call it was in completes first: an object can appear just after the first pass
                // looked. So when a pass removed something, look again (bounded).
                for (int pass = 0; pass < REAP_PASSES; pass++) {
                    if (pass > 0) {
                        pause(20L << pass);
                    }
                    int before = sandboxes.size();
                    reapOnce(sandboxes, removed, failures);
                    if (sandboxes.size() == before || !failures.isEmpty()) {
                        break;
                    }
                }
                if (registry.leases().isEmpty() && ops.inventory().policyRule()) {
                    ops.execute(new KernelOp.DeletePolicyRule(PolicyRoute.MARK, PolicyRoute.TABLE));
                    removed.add("ip rule fwmark " + PolicyRoute.markHex() + " lookup " + PolicyRoute.table());
                }
                return null;
            });
        } catch (SandboxException | RuntimeException e) {
            failures.add(e.getMessage());
        }
        return new ReapReport(List.copyOf(new java.util.LinkedHashSet<>(sandboxes)), removed, failures);
    }

    /** How many times one reap looks (see {@link #reap()}). */
    private static final int REAP_PASSES = 3;

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One look at the host: tears down every sandbox no live process owns. Holds the registry lock. */
    private void reapOnce(List<String> sandboxes, List<String> removed, List<String> failures) throws SandboxException {
        KernelInventory inv = ops.inventory();
        Map<String, Registry.Lease> leases = registry.leases();
        Map<String, Optional<SandboxRecord>> ownRecs = ownRecords();
        Set<String> liveIds = new HashSet<>();
        held.get().forEach(r -> liveIds.add(r.id()));
        leases.values().forEach(l -> l.record().filter(r -> ops.alive(r.owner())).ifPresent(r -> liveIds.add(l.id())));
        ownRecs.forEach((id, r) -> r.filter(x -> ops.alive(x.owner())).ifPresent(x -> liveIds.add(id)));

        Map<String, List<String>> found = new java.util.TreeMap<>();
        leases.keySet().forEach(id -> found.computeIfAbsent(id, k -> new ArrayList<>()).add("lease " + registry.dir().resolve(id + ".json")));
        ownRecs.keySet().forEach(id -> found.computeIfAbsent(id, k -> new ArrayList<>()).add("record " + records.resolve(id + ".json")));
        inv.netns().forEach(n -> Names.idOf(Names.NETNS, n).ifPresent(id -> found.computeIfAbsent(id, k -> new ArrayList<>()).add("netns " + n)));
        inv.links().forEach(n -> Names.idOf(Names.HOST_LINK, n).or(() -> Names.idOf(Names.SANDBOX_LINK, n))
                .ifPresent(id -> found.computeIfAbsent(id, k -> new ArrayList<>()).add("link " + n)));
        inv.nftTables().forEach(n -> Names.idOf(Names.NFT_TABLE, n)
                .ifPresent(id -> found.computeIfAbsent(id, k -> new ArrayList<>()).add("nft table inet " + n)));
        inv.cgroups().stream().filter(c -> c.getParent() != null && layout.roots().contains(c.getParent()))
                .forEach(c -> Names.idOf(Names.CGROUP, c.getFileName().toString())
                        .ifPresent(id -> found.computeIfAbsent(id, k -> new ArrayList<>()).add("cgroup " + c)));
        registry.fileDirs().forEach(id -> found.computeIfAbsent(id, k -> new ArrayList<>()).add("files " + registry.files(id)));
        Optional<Path> own = ownState();
        if (own.isPresent()) {
            Path st = own.get();
            inv.overlays().forEach(m -> Overlays.idOfMount(st, m).or(() -> RootLayers.idOfMount(st, m))
                    .ifPresent(id -> found.computeIfAbsent(id, k -> new ArrayList<>()).add("overlay mount " + m)));
            for (Path dir : List.of(st.resolve(Overlays.MOUNTS), st.resolve(Overlays.COW), st.resolve(RootLayers.SETUP_MOUNTS),
                    st.resolve(RootLayers.STACKED_MOUNTS))) {
                try (Stream<Path> s = Files.list(dir)) {
                    s.filter(p -> Names.isId(p.getFileName().toString()) && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
                            .forEach(p -> found.computeIfAbsent(p.getFileName().toString(), k -> new ArrayList<>()).add("overlay dir " + p));
                } catch (IOException e) {
                    // none yet
                }
            }
        }

        for (Map.Entry<String, List<String>> e : found.entrySet()) {
            String id = e.getKey();
            if (liveIds.contains(id)) {
                continue;
            }
            List<Path> cgroups = new ArrayList<>(layout.dirs(id));
            Optional.ofNullable(leases.get(id)).flatMap(Registry.Lease::record).ifPresent(r -> r.cgroups().stream()
                    .filter(c -> !cgroups.contains(c)).forEach(cgroups::add));
            Optional<SandboxRecord> rec = Optional.ofNullable(leases.get(id)).flatMap(Registry.Lease::record)
                    .or(() -> ownRecs.getOrDefault(id, Optional.empty()));
            List<Path> states = new ArrayList<>(launcher.overlayStates(id, rec));
            if (own.isPresent() && !states.contains(own.get()) && e.getValue().stream().anyMatch(f -> f.startsWith("overlay "))) {
                states.add(own.get());
            }
            List<String> errors = launcher.tearDown(id, cgroups, states);
            if (!errors.isEmpty()) {
                failures.add(id + ": " + String.join("; ", errors));
                continue;
            }
            // the reaper owns every object of the sandbox, its own workspace included (never one a user gave)
            Optional<Path> ws = rec.map(SandboxRecord::workspace).filter(w -> MemberWorkspaces.owned(state, w));
            if (ws.isPresent()) {
                boolean existed = Files.isDirectory(ws.get(), LinkOption.NOFOLLOW_LINKS);
                List<String> wsErrors = launcher.deleteWorkspace(ws.get());
                if (!wsErrors.isEmpty()) {
                    failures.add(id + ": workspace: " + String.join("; ", wsErrors));
                    continue;
                }
                if (existed) {
                    e.getValue().add("workspace " + ws.get());
                }
            }
            try {
                registry.deleteFiles(id);
                Files.deleteIfExists(records.resolve(id + ".json"));
                registry.deleteLease(id);
            } catch (IOException | SandboxException ex) {
                failures.add(id + ": " + ex);
                continue;
            }
            sandboxes.add(id);
            removed.addAll(e.getValue());
        }
    }

    /** The records in this state directory, by id (empty when unreadable). */
    private Map<String, Optional<SandboxRecord>> ownRecords() {
        Map<String, Optional<SandboxRecord>> out = new java.util.TreeMap<>();
        try (Stream<Path> s = Files.list(records)) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                if (name.endsWith(".json") && Names.isId(name.substring(0, name.length() - 5))
                        && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.put(name.substring(0, name.length() - 5), Registry.read(p));
                }
            }
        } catch (IOException e) {
            // no records yet
        }
        return out;
    }

    /**
     * Removes the member workspaces that no sandbox on this host holds (by the launcher, a record
     * or a lease): those a process killed between creating a workspace and recording its sandbox
     * left. Returns the removed paths; failures go to the warnings.
     */
    List<String> sweepMemberWorkspaces() {
        List<String> removed = new ArrayList<>();
        try {
            registry.locked(() -> {
                Set<Path> inUse = new HashSet<>();
                held.get().forEach(r -> inUse.add(r.workspace()));
                registry.leases().values().forEach(l -> l.record().ifPresent(r -> inUse.add(r.workspace())));
                ownRecords().values().forEach(r -> r.ifPresent(x -> inUse.add(x.workspace())));
                for (Path ws : MemberWorkspaces.existing(state)) {
                    if (inUse.contains(ws) || inUse.contains(real(ws))) {
                        continue;
                    }
                    List<String> failures = launcher.deleteWorkspace(ws);
                    failures.forEach(f -> warnings.accept("cannot remove workspace " + f));
                    if (failures.isEmpty()) {
                        removed.add("workspace " + ws);
                    }
                }
                return null;
            });
        } catch (SandboxException e) {
            warnings.accept(e.getMessage());
        }
        return removed;
    }

    private Optional<Path> ownState() {
        try {
            return Optional.of(state.toRealPath());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static Path real(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p;
        }
    }
}
