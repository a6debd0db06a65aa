"""Copies the shaded jar without the native libraries of other platforms (the package is linux
amd64 only): sqlite-jdbc and JNA ship one per OS and CPU, about 27 MB of the jar. Every other
entry is copied as it is, in the same order, so the manifest stays first."""
import re
import sys
import zipfile

OTHER_PLATFORM = re.compile(
    r"^(org/sqlite/native/(?!Linux/x86_64/|Linux-Musl/x86_64/)[^/]+/[^/]+/"
    r"|com/sun/jna/(?!linux-x86-64/)[a-z0-9]+-[a-z0-9-]+/)")

src, dst = sys.argv[1], sys.argv[2]
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
