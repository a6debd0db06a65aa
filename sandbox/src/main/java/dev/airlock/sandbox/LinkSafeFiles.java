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

    /**
     * Removes {@code dir} and everything under it. Never follows a link (a link is removed as the
     * name it is), never descends into another file system, and refuses (IOException, nothing of
     * the mount touched) a tree that has a mount point at or below it. Nothing when absent.
     */
    public static void deleteTree(Path dir) throws IOException {
        Path top = dir.toAbsolutePath().normalize();
        Path parent = top.getParent();
        if (parent == null) {
            throw new IOException("refused to remove " + top + ": not a directory below another");
        }
        Path real;
        try {
            real = parent.toRealPath().resolve(top.getFileName());
        } catch (java.nio.file.NoSuchFileException gone) {
            return;
        }
        List<Path> mounts = mountsAtOrBelow(real);
        if (!mounts.isEmpty()) {
            throw new IOException(mounts.get(0) + " is a mount point; " + top + " was not removed");
        }
        try (SecureDirectoryStream<Path> up = secure(parent)) {
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
            try (SecureDirectoryStream<Path> d = openChild(up, name, top)) {
                emptyDirectory(d, top, device);
            }
            up.deleteDirectory(Path.of(name));
        }
    }

    private static void emptyDirectory(SecureDirectoryStream<Path> d, Path where, String device) throws IOException {
        if (!device.equals(device(d.getFileAttributeView(BasicFileAttributeView.class).readAttributes()))) {
            throw new IOException(where + " is on another file system (a mount point); not removed");
        }
        List<Path> names = new ArrayList<>();
        for (Path p : d) {
            names.add(p.getFileName());
        }
        for (Path name : names) {
            BasicFileAttributes a;
            try {
                a = attributes(d, name.toString());
            } catch (java.nio.file.NoSuchFileException gone) {
                continue;
            }
            if (a.isDirectory()) {
                try (SecureDirectoryStream<Path> sub = openChild(d, name.toString(), where.resolve(name))) {
                    emptyDirectory(sub, where.resolve(name), device);
                }
                d.deleteDirectory(name);
            } else {
                d.deleteFile(name);
            }
        }
    }

    /** Mount points at {@code top} or below it, from this process's mount table (the host's namespace). */
    static List<Path> mountsAtOrBelow(Path top) throws IOException {
        List<Path> out = new ArrayList<>();
        for (String line : Files.readAllLines(SystemKernelOps.MOUNTINFO)) {
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
