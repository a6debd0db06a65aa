package dev.airlock.sandbox;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The file operations root performs on paths a sandbox has been able to touch: removing a
 * workspace, an overlay's upper directory or a staging tree; changing the owner of a tree; writing
 * a file (the {@code --events} file) into a directory a sandbox could write. Each one is done so
 * that a symbolic link or hard link the sandbox planted cannot redirect it (docs/sandbox.md,
 * "Privileged file operations").
 *
 * <p>Design: every step below the starting directory is relative to a directory descriptor
 * ({@link SecureDirectoryStream}: {@code openat}, {@code unlinkat}, {@code renameat},
 * {@code fstatat} with {@code O_NOFOLLOW}/{@code AT_SYMLINK_NOFOLLOW}), so a directory swapped for
 * a link between two steps is not followed: the open fails instead. A removal never crosses into
 * another file system (the device of every directory is compared with the top's) and refuses a
 * tree with anything mounted at or below it. A write never opens an existing file: it creates a
 * fresh one with {@code O_EXCL} and renames it over the name, which replaces a planted link (or a
 * hard link to someone else's file) instead of writing through it.
 */
public final class LinkSafeFiles {

    /** {@code UnixFileKey.toString()} is "(dev=<hex>,ino=<decimal>)": the only public view of st_dev through a descriptor. */
    private static final Pattern DEVICE = Pattern.compile("\\(dev=([0-9a-f]+),ino=\\d+\\)");

    private LinkSafeFiles() {
    }

    // ---------------------------------------------------------------------------------------------
    // Removal

    /** Directories deeper than this below the top are not removed: one descriptor is held per level. */
    static final int MAX_DEPTH = 1024;

    /**
     * Removes {@code dir} and everything under it. Never follows a link (a link is removed as the
     * name it is), never descends into another file system, and refuses (IOException, nothing of
     * the mount touched) a tree that has a mount point at or below it. Nothing when absent. A tree
     * deeper than {@link #MAX_DEPTH} directories is refused part-way (IOException): what is left
     * stays for a later attempt or for removal by hand.
     */
    public static void deleteTree(Path dir) throws IOException {
        Path top = dir.toAbsolutePath().normalize();
        Optional<Path> real = realName(top);
        if (real.isEmpty()) {
            return;
        }
        List<Path> mounts = mountsAtOrBelow(real.get());
        if (!mounts.isEmpty()) {
            throw new IOException(mounts.get(0) + " is a mount point; " + top + " was not removed");
        }
        remove(top, Set.of(), null);
    }

    /**
     * Removes {@code dir} and everything under it as {@link #deleteTree} does, except that a mount
     * point at or below it (and so every directory above one) is left in place and reported instead
     * of refusing the whole tree. Never throws: returns what was left and why (empty: all gone, or
     * it did not exist).
     */
    public static List<String> deleteTreeKeepingMounts(Path dir) {
        Path top = dir.toAbsolutePath().normalize();
        List<String> left = new ArrayList<>();
        try {
            Optional<Path> real = realName(top);
            if (real.isEmpty()) {
                return left;
            }
            Set<Path> mounts = new java.util.HashSet<>();
            for (Path m : mountsAtOrBelow(real.get())) {
                mounts.add(top.resolve(real.get().relativize(m)).normalize());
            }
            remove(top, mounts, left);
        } catch (IOException e) {
            left.add(top + ": " + e.getMessage());
        }
        return left;
    }

    /** {@code top} with its parent's links resolved (the name itself is never followed); empty when the parent is gone. */
    private static Optional<Path> realName(Path top) throws IOException {
        Path parent = top.getParent();
        if (parent == null) {
            throw new IOException("refused to remove " + top + ": not a directory below another");
        }
        try {
            return Optional.of(parent.toRealPath().resolve(top.getFileName()));
        } catch (java.nio.file.NoSuchFileException gone) {
            return Optional.empty();
        }
    }

    /** A directory being emptied: its descriptor, its path (for messages) and the names still to remove. */
    private record Level(SecureDirectoryStream<Path> dir, Path where, java.util.Iterator<Path> names) {
    }

    /**
     * Depth first without recursion (a deep tree must not exhaust the stack), one descriptor per
     * level up to {@link #MAX_DEPTH}. With {@code left} null, another file system is an error; with
     * a list, a mount point (in {@code mounts}, or on another device) is skipped and reported there,
     * and so is a directory that could not be removed because of one.
     */
    private static void remove(Path top, Set<Path> mounts, List<String> left) throws IOException {
        if (left != null && mounts.contains(top)) {
            left.add(top + ": a mount point (another file system); left in place");
            return;
        }
        java.util.Deque<Level> stack = new java.util.ArrayDeque<>();
        try (SecureDirectoryStream<Path> up = secure(top.getParent())) {
            String name = top.getFileName().toString();
            BasicFileAttributes a;
            try {
                a = attributes(up, name);
            } catch (java.nio.file.NoSuchFileException gone) {
                return;
            }
            if (!a.isDirectory()) {
                up.deleteFile(Path.of(name)); // a link or file where the directory was: only the name goes
                return;
            }
            String device = device(a);
            try {
                stack.push(level(openChild(up, name, top), top));
                while (!stack.isEmpty()) {
                    Level l = stack.peek();
                    if (!l.names().hasNext()) {
                        stack.pop().dir().close();
                        SecureDirectoryStream<Path> parent = stack.isEmpty() ? up : stack.peek().dir();
                        removeDirectory(parent, l.where(), left);
                        continue;
                    }
                    Path n = l.names().next();
                    Path here = l.where().resolve(n);
                    BasicFileAttributes at;
                    try {
                        at = attributes(l.dir(), n.toString());
                    } catch (java.nio.file.NoSuchFileException gone) {
                        continue;
                    }
                    if (!at.isDirectory()) {
                        l.dir().deleteFile(n);
                        continue;
                    }
                    if (left != null && mounts.contains(here)) {
                        left.add(here + ": a mount point (another file system); left in place");
                        continue;
                    }
                    if (stack.size() >= MAX_DEPTH) {
                        throw new IOException(top + " is deeper than " + MAX_DEPTH + " directories (at " + here + "); the rest was not removed."
                                + " Fix: remove it by hand (rm -rf), after checking nothing is mounted below it");
                    }
                    SecureDirectoryStream<Path> sub = openChild(l.dir(), n.toString(), here);
                    if (!device.equals(device(sub.getFileAttributeView(BasicFileAttributeView.class).readAttributes()))) {
                        sub.close();
                        if (left == null) {
                            throw new IOException(here + " is on another file system (a mount point); not removed");
                        }
                        left.add(here + ": a mount point (another file system); left in place");
                        continue;
                    }
                    stack.push(level(sub, here));
                }
            } finally {
                while (!stack.isEmpty()) {
                    stack.pop().dir().close();
                }
            }
        }
    }

    private static Level level(SecureDirectoryStream<Path> d, Path where) {
        List<Path> names = new ArrayList<>();
        for (Path p : d) {
            names.add(p.getFileName());
        }
        return new Level(d, where, names.iterator());
    }

    /** Removes the emptied directory {@code where}; when keeping mounts, one that still holds a kept mount stays, reported once. */
    private static void removeDirectory(SecureDirectoryStream<Path> parent, Path where, List<String> left) throws IOException {
        try {
            parent.deleteDirectory(where.getFileName());
        } catch (IOException e) {
            if (left == null) {
                throw e;
            }
            String below = where + "/";
            if (left.stream().noneMatch(f -> f.startsWith(below))) {
                left.add(where + ": " + e.getMessage());
            }
        }
    }

    /** Mount points at {@code top} or below it, from this process's mount table (the host's namespace). */
    static List<Path> mountsAtOrBelow(Path top) throws IOException {
        List<Path> out = new ArrayList<>();
        for (String line : Files.readAllLines(StepRunner.MOUNTINFO)) {
            String[] f = line.split(" ");
            if (f.length > 4) {
                Path m = Path.of(unescape(f[4]));
                if (m.startsWith(top)) {
                    out.add(m);
                }
            }
        }
        return out;
    }

    /** mountinfo escapes space, tab, newline and backslash as octal. */
    private static String unescape(String s) {
        Matcher m = Pattern.compile("\\\\([0-7]{3})").matcher(s);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(b, Matcher.quoteReplacement(Character.toString((char) Integer.parseInt(m.group(1), 8))));
        }
        m.appendTail(b);
        return b.toString();
    }

    // ---------------------------------------------------------------------------------------------
    // Ownership

    /**
     * Gives {@code dir} and everything under it to {@code uid}/{@code gid}. Directories are opened
     * relative to their parent's descriptor without following links and changed through their own
     * descriptor; a link itself is left as it is (no link is ever followed); a regular file with
     * more than one name (a hard link, perhaps to a file of root's) is refused, as is anything
     * that is neither file, directory nor link (a FIFO would block the open). Meant for trees that
     * no sandbox has run in yet (a fresh checkout); it still holds if one has.
     */
    public static void chownTree(Path dir, int uid, int gid) throws IOException {
        Path top = dir.toAbsolutePath().normalize();
        try (SecureDirectoryStream<Path> d = secureNoFollow(top)) {
            chownDirectory(d, top, uid, gid);
        }
    }

    private static void chownDirectory(SecureDirectoryStream<Path> d, Path where, int uid, int gid) throws IOException {
        own(d.getFileAttributeView(PosixFileAttributeView.class), uid, gid);
        List<Path> names = new ArrayList<>();
        for (Path p : d) {
            names.add(p.getFileName());
        }
        for (Path name : names) {
            Path here = where.resolve(name);
            BasicFileAttributes a = attributes(d, name.toString());
            if (a.isDirectory()) {
                try (SecureDirectoryStream<Path> sub = openChild(d, name.toString(), here)) {
                    chownDirectory(sub, here, uid, gid);
                }
            } else if (a.isRegularFile()) {
                int links = (Integer) Files.getAttribute(here, "unix:nlink", LinkOption.NOFOLLOW_LINKS);
                if (links != 1) {
                    throw new IOException(here + " has " + links + " names (a hard link); its owner is not changed");
                }
                own(d.getFileAttributeView(name, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS), uid, gid);
            } else if (!a.isSymbolicLink()) {
                throw new IOException(here + " is neither file, directory nor link; its owner is not changed");
            }
        }
    }

    /** Sets owner and group through the view (its descriptor). Numeric ids: the JDK takes a number when no such name exists. */
    private static void own(PosixFileAttributeView v, int uid, int gid) throws IOException {
        var lookup = java.nio.file.FileSystems.getDefault().getUserPrincipalLookupService();
        v.setOwner(lookup.lookupPrincipalByName(Integer.toString(uid)));
        v.setGroup(lookup.lookupPrincipalByGroupName(Integer.toString(gid)));
    }

    // ---------------------------------------------------------------------------------------------
    // Writing into a directory a sandbox could write

    /**
     * A directory held open by descriptor, to write a file into later (after a sandbox ran). Open it
     * before the sandbox starts: its path is resolved then, and what the sandbox does to the path
     * afterwards (replace a directory on it by a link) does not move the descriptor.
     */
    public static final class Directory implements Closeable {
        private final SecureDirectoryStream<Path> dir;
        private final Path path;

        private Directory(SecureDirectoryStream<Path> dir, Path path) {
            this.dir = dir;
            this.path = path;
        }

        public Path path() {
            return path;
        }

        /**
         * Replaces the file {@code name} in this directory with {@code data}: written to a fresh
         * file (O_CREAT|O_EXCL, mode 0644) and renamed over {@code name}. A link (symbolic or hard)
         * at {@code name} is replaced as a name; its target is never opened.
         */
        public void replace(String name, byte[] data) throws IOException {
            Path n = Path.of(name);
            if (n.getNameCount() != 1 || name.equals(".") || name.equals("..")) {
                throw new IOException("not a file name: " + name);
            }
            String tmp = "." + name + "." + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()) + ".tmp";
            boolean moved = false;
            try {
                try (SeekableByteChannel c = dir.newByteChannel(Path.of(tmp), Set.of(StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")))) {
                    ByteBuffer b = ByteBuffer.wrap(data);
                    while (b.hasRemaining()) {
                        c.write(b);
                    }
                }
                dir.move(Path.of(tmp), dir, n);
                moved = true;
            } finally {
                if (!moved) {
                    try {
                        dir.deleteFile(Path.of(tmp));
                    } catch (IOException ignored) {
                        // it was never created
                    }
                }
            }
        }

        @Override
        public void close() throws IOException {
            dir.close();
        }
    }

    /** Opens {@code dir} (its path resolved now) for {@link Directory#replace} later. */
    public static Directory openDirectory(Path dir) throws IOException {
        Path p = dir.toAbsolutePath().normalize();
        return new Directory(secure(p), p);
    }

    /** Writes {@code data} to {@code file} as {@link Directory#replace} does, its directory resolved now. */
    public static void replaceFile(Path file, byte[] data) throws IOException {
        Path f = file.toAbsolutePath().normalize();
        try (Directory d = openDirectory(f.getParent())) {
            d.replace(f.getFileName().toString(), data);
        }
    }

    /**
     * Creates {@code base/rel/name} holding {@code data} (mode 0644, owned like the directory it is
     * in) unless a file of that name exists. {@code base} is trusted (a real path); every directory
     * of {@code rel} is opened relative to its parent without following a link, and the file is
     * created with {@code O_CREAT|O_EXCL|O_NOFOLLOW}. Returns whether it created the file.
     */
    public static boolean createIfAbsent(Path base, String rel, String name, byte[] data) throws IOException {
        List<SecureDirectoryStream<Path>> open = new ArrayList<>();
        try {
            open.add(secure(base));
            Path where = base;
            for (Path c : Path.of(rel)) {
                where = where.resolve(c);
                open.add(openChild(open.get(open.size() - 1), c.toString(), where));
            }
            SecureDirectoryStream<Path> d = open.get(open.size() - 1);
            try (SeekableByteChannel c = d.newByteChannel(Path.of(name), Set.of(StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")))) {
                ByteBuffer b = ByteBuffer.wrap(data);
                while (b.hasRemaining()) {
                    c.write(b);
                }
            } catch (java.nio.file.FileAlreadyExistsException exists) {
                return false;
            }
            var dirAttrs = d.getFileAttributeView(PosixFileAttributeView.class).readAttributes();
            PosixFileAttributeView file = d.getFileAttributeView(Path.of(name), PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
            file.setOwner(dirAttrs.owner());
            file.setGroup(dirAttrs.group());
            return true;
        } finally {
            for (SecureDirectoryStream<Path> s : open) {
                s.close();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------

    private static SecureDirectoryStream<Path> secure(Path dir) throws IOException {
        DirectoryStream<Path> s = Files.newDirectoryStream(dir);
        if (s instanceof SecureDirectoryStream<Path> sds) {
            return sds;
        }
        s.close();
        throw new IOException("this platform offers no descriptor-relative file operations (SecureDirectoryStream); refusing to touch "
                + dir + " as root");
    }

    /** {@code dir} opened without following a link at its last name (the parent's path is trusted). */
    private static SecureDirectoryStream<Path> secureNoFollow(Path dir) throws IOException {
        Path parent = dir.getParent();
        if (parent == null) {
            return secure(dir);
        }
        try (SecureDirectoryStream<Path> up = secure(parent)) {
            return openChild(up, dir.getFileName().toString(), dir);
        }
    }

    private static SecureDirectoryStream<Path> openChild(SecureDirectoryStream<Path> parent, String name, Path where) throws IOException {
        try {
            return parent.newDirectoryStream(Path.of(name), LinkOption.NOFOLLOW_LINKS);
        } catch (NotDirectoryException e) {
            throw new IOException(where + " is no longer a directory (replaced by a link or file?); not followed", e);
        } catch (FileSystemException e) {
            // ELOOP: a link where a directory was
            throw new IOException(where + " could not be opened without following a link: " + e.getMessage(), e);
        }
    }

    private static BasicFileAttributes attributes(SecureDirectoryStream<Path> d, String name) throws IOException {
        return d.getFileAttributeView(Path.of(name), BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes();
    }

    private static String device(BasicFileAttributes a) throws IOException {
        Object key = a.fileKey();
        Matcher m = key == null ? null : DEVICE.matcher(key.toString());
        if (m == null || !m.matches()) {
            throw new IOException("cannot tell the device of a directory (file key " + key + "); refusing to remove across mounts");
        }
        return m.group(1);
    }
}
