"""Copies the shaded jar without the native libraries of other platforms (the package is linux
amd64 only): sqlite-jdbc and JNA ship one per OS and CPU, about 27 MB of the jar. Every other
entry is copied as it is, in the same order, so the manifest stays first.

With a third argument, also writes this platform's (glibc x86-64) libraries of Netty's epoll
transport, sqlite-jdbc and JNA into that directory, so that the JVM loads them from there instead
of copying them out of the jar into java.io.tmpdir and loading that copy on every start, which
fails where /tmp is mounted noexec (a common hardening) or read-only (a container's)."""
import re
import sys
import zipfile

OTHER_PLATFORM = re.compile(
    r"^(org/sqlite/native/(?!Linux/x86_64/|Linux-Musl/x86_64/)[^/]+/[^/]+/"
    r"|com/sun/jna/(?!linux-x86-64/)[a-z0-9]+-[a-z0-9-]+/)")

src, dst = sys.argv[1], sys.argv[2]
native_dir = sys.argv[3] if len(sys.argv) > 3 else None
# name in the jar -> file name the loaders look for (Netty: System.mapLibraryName of its library)
LOADED = {
    "META-INF/native/libnetty_transport_native_epoll_x86_64.so": "libnetty_transport_native_epoll_x86_64.so",
    "org/sqlite/native/Linux/x86_64/libsqlitejdbc.so": "libsqlitejdbc.so",
    "com/sun/jna/linux-x86-64/libjnidispatch.so": "libjnidispatch.so",
}
dropped = 0
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        if OTHER_PLATFORM.match(info.filename):
            dropped += 1
            continue
        zout.writestr(info, zin.read(info.filename), compress_type=info.compress_type)
kept = [n for n in zipfile.ZipFile(dst).namelist() if n.startswith(("org/sqlite/native/", "com/sun/jna/")) and n.endswith((".so", ".dll", ".dylib", ".jnilib", ".a"))]
if sorted(kept) != ["com/sun/jna/linux-x86-64/libjnidispatch.so", "org/sqlite/native/Linux-Musl/x86_64/libsqlitejdbc.so",
                    "org/sqlite/native/Linux/x86_64/libsqlitejdbc.so"]:
    sys.exit(f"strip-natives: unexpected native libraries left in {dst}: {kept}")
print(f"strip-natives: dropped {dropped} entries of other platforms", file=sys.stderr)
if native_dir:
    import os
    os.makedirs(native_dir, exist_ok=True)
    with zipfile.ZipFile(dst) as z:
        names = set(z.namelist())
        for entry, file in LOADED.items():
            if entry not in names:
                sys.exit(f"strip-natives: {entry} is not in {dst}; the loaders' names changed? Fix LOADED in {sys.argv[0]}")
            with open(os.path.join(native_dir, file), "wb") as f:
                f.write(z.read(entry))
            os.chmod(os.path.join(native_dir, file), 0o644)
    print(f"strip-natives: wrote {len(LOADED)} native libraries to {native_dir}", file=sys.stderr)
