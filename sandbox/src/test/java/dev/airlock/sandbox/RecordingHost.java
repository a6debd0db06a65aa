package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/** A {@link Host} that records every side effect and performs none; files exist when the test says so. */
final class RecordingHost implements Host {

    /** Every call, as text: "exec …", "write …", "mkdir …", … */
    final List<String> calls = new ArrayList<>();
    final Set<Path> existing = new HashSet<>();
    final Map<Path, String> contents = new HashMap<>();
    /** What an exec returns; by default success with no output. */
    Function<List<String>, Result> results = argv -> new Result(argv, 0, "", "");
    /** What a kill does to the recorded files (by default nothing). */
    java.util.function.LongConsumer onKill = pid -> { };

    @Override
    public Result exec(List<String> argv, String stdin) {
        calls.add("exec " + String.join(" ", argv) + (stdin.isEmpty() ? "" : " <<< " + stdin.strip().replace('\n', ';')));
        return results.apply(argv);
    }

    @Override
    public Process start(ProcessBuilder pb) throws IOException {
        calls.add("start " + String.join(" ", pb.command()));
        return new ProcessBuilder("true").start();
    }

    @Override
    public void write(Path file, String value) {
        calls.add("write " + file + " " + value);
    }

    @Override
    public String read(Path file) throws IOException {
        String c = contents.get(file);
        if (c == null) {
            throw new java.nio.file.NoSuchFileException(file.toString());
        }
        return c;
    }

    @Override
    public boolean exists(Path p) {
        return existing.contains(p) || contents.containsKey(p);
    }

    @Override
    public List<String> list(Path dir) {
        return List.of();
    }

    @Override
    public void mkdir(Path dir) {
        calls.add("mkdir " + dir);
    }

    @Override
    public boolean rmdir(Path dir) {
        calls.add("rmdir " + dir);
        return true;
    }

    @Override
    public void kill(long pid) {
        calls.add("kill " + pid);
        onKill.accept(pid);
    }

    @Override
    public void pause(long millis) {
    }

    @Override
    public Path realPath(Path p) {
        return p;
    }

    @Override
    public void chown(Path p, int uid, int gid) {
        calls.add("chown " + p + " " + uid + ":" + gid);
    }

    @Override
    public void chmod(Path p, String mode) {
        calls.add("chmod " + p + " " + mode);
    }

    @Override
    public void deleteTree(Path dir, boolean keepMounts) {
        calls.add("deleteTree " + dir + (keepMounts ? " keeping mounts" : ""));
    }

    @Override
    public void chownTree(Path dir, int uid, int gid) {
        calls.add("chownTree " + dir + " " + uid + ":" + gid);
    }

    @Override
    public void createWorkspace(Path dir, int uid, int gid) {
        calls.add("createWorkspace " + dir + " " + uid + ":" + gid);
    }

    @Override
    public void prepareRootLayer(Path image, Path upper, int uid, int gid) {
        calls.add("prepareRootLayer " + image + " " + upper + " " + uid + ":" + gid);
    }

    @Override
    public void sealRootLayer(Path upper, Path work, Path layer) {
        calls.add("sealRootLayer " + upper + " " + layer);
    }
}
