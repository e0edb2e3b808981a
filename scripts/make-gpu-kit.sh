#!/usr/bin/env bash
# Makes the GPU kit: every library kdprune builds against that a bare GPU host lacks (it has a
# compiler, CMake, ninja, CUDA and a pip torch with its LibTorch and NCCL, but no package manager
# and no network), as Debian 12 (bookworm) packages unpacked into a relocatable prefix and packed
# into .gpukit/kit.tar.gz (git-ignored), which travels with the working tree
# (`carry: [".gpukit"]`) and which scripts/gpu-check.sh unpacks and builds against.
#   scripts/make-gpu-kit.sh            download (cached) + unpack + fix up + pack + size check
# Needs apt-get and dpkg-deb (any Debian/Ubuntu); root is not needed. Packages come from Debian's
# archive only, through a private apt configuration (the machine's own sources are not read).
# Cache: $KD_KIT_CACHE (default /var/cache/kdprune-kit), outside the repository.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kit="$root/.gpukit"
cache="${KD_KIT_CACHE:-/var/cache/kdprune-kit}"
prefix="$cache/stage/prefix"   # unpacked here (outside the tree), packed into $kit/kit.tar.gz
limit_mib=40   # what travels: the tree (~3.5 MiB) + this kit; the device call carries <= 64 MiB

# Packages, each with why. "dev" ones give headers, CMake/pkg-config files and link symlinks;
# the others are the runtime libraries those link to, which the host may lack. Core C/C++
# runtime (libc6, libstdc++6, libgcc-s1) is the host's: every host that compiles has it.
packages=(
  # HDF5 shards (src/data): C headers, libhdf5.so link and its runtime; libaec/libsz: szip filter
  libhdf5-dev libhdf5-103-1 libaec0 libsz2
  # Open MPI 4.1: headers + mpicc wrappers (FindMPI), libmpi and its MCA components, mpirun +
  # orted (singleton MPI_Init forks orted, so even a world of 1 needs it), help texts
  libopenmpi-dev libopenmpi3 openmpi-bin openmpi-common
  # Open MPI's own runtime: process-management (PMIx), topology (hwloc), event loop (libevent)
  libpmix2 libhwloc15 libevent-core-2.1-7 libevent-pthreads-2.1-7 libevent-2.1-7
  # config, logging, CLI, JSON (src/common): headers + CMake configs + the two shared libs
  libyaml-cpp-dev libyaml-cpp0.7 libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
  libcli11-dev nlohmann-json3-dev
  # tests and benchmarks: GoogleTest/GoogleMock (static libs + CMake config), Google Benchmark
  libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian
  # tokenizer (utf8proc), HDF5 chunk compression (libdeflate), corpus readers (expat, bzip2, zlib)
  libutf8proc-dev libutf8proc2 libdeflate-dev libdeflate0
  libexpat1-dev libexpat1 libbz2-dev libbz2-1.0 zlib1g-dev zlib1g
  # pkg-config (CMake's FindPkgConfig needs the program; utf8proc and libdeflate are found by it)
  pkgconf pkgconf-bin libpkgconf3
  # libhdf5 links libcurl (its ros3 driver) and libcrypto: needed to link and to load it. These
  # and their own needs are "fallback" libraries: used only where the host has none (see below)
  libcurl4 libssl3 libnghttp2-14 libidn2-0 libunistring2 libpsl5 librtmp1 libssh2-1 libbrotli1
  libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1
  libldap-2.5-0 libsasl2-2 libsasl2-modules-db libdb5.3 libzstd1 libgnutls30 libhogweed6
  libnettle8 libgmp10 libp11-kit0 libffi8 libtasn1-6 libudev1 libmunge2
)
# Of the unpacked libraries, these sonames go to prefix/fallback/: generic system libraries a
# host usually has in a newer version. scripts/gpu-check.sh links each into its library path
# only when the host's loader cache lacks that soname, so the host's own copy wins.
fallback_re='^lib(curl|ssl|crypto|nghttp2|idn2|unistring|psl|rtmp|ssh2|brotli[a-z]*|gssapi_krb5|krb5|k5crypto|krb5support|com_err|keyutils|ldap|lber|sasl2|db|zstd|gnutls|hogweed|nettle|gmp|p11-kit|ffi|tasn1|udev|munge|z|bz2|expat)[-.0-9]*\.so'
# The host's core C/C++ runtime: what a kit library may need from outside the kit.
core_re='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libutil|libresolv|libstdc\+\+|libgcc_s)\.so'

start=$(date +%s)
mkdir -p "$cache/debs" "$cache/lists/partial" "$cache/archives/partial"
# A private apt configuration: Debian's bookworm archive (+ updates, security), amd64 only.
cat > "$cache/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
EOF
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] ||
  { echo "make-gpu-kit: /usr/share/keyrings/debian-archive-keyring.gpg missing (apt-get install debian-archive-keyring)" >&2; exit 1; }
apt_opts=(-o Dir::Etc::SourceList="$cache/sources.list" -o Dir::Etc::SourceParts=/nonexistent
          -o Dir::State::Lists="$cache/lists" -o Dir::Cache::Archives="$cache/archives"
          -o APT::Architecture=amd64 -o APT::Architectures=amd64 -o Debug::NoLocking=1)
echo "make-gpu-kit: apt-get update (Debian bookworm archive only)"
apt-get "${apt_opts[@]}" update -qq
echo "make-gpu-kit: downloading ${#packages[@]} packages into $cache/debs"
(cd "$cache/debs" && apt-get "${apt_opts[@]}" download -qq "${packages[@]}")

# Exactly the current versions: drop older downloads of the same package.
declare -A newest
for p in "${packages[@]}"; do
  v=$(apt-cache "${apt_opts[@]}" show --no-all-versions "$p" | awk '/^Version:/ {print $2; exit}')
  v=${v//:/%3a}
  f=$(ls "$cache/debs/${p}_${v}_"*.deb 2>/dev/null | head -n 1)
  [ -n "$f" ] || { echo "make-gpu-kit: no .deb for $p $v in $cache/debs" >&2; exit 1; }
  newest[$p]=$f
done

rm -rf "$kit" "$prefix"
mkdir -p "$kit" "$prefix"
for p in "${packages[@]}"; do dpkg-deb -x "${newest[$p]}" "$prefix"; done
u="$prefix/usr"
la="$u/lib/x86_64-linux-gnu"

# ---- drop what the build and the runs do not need -----------------------------------------
rm -rf "$u/share/doc" "$u/share/man" "$u/share/info" "$u/share/lintian" "$u/share/locale" \
  "$u/share/bug" "$u/share/bash-completion" "$u/share/javascript" "$prefix/etc/ldap" \
  "$u/share/doc-base" "$u/share/hdf5_examples" "$u/lib/x86_64-linux-gnu/openmpi/include/openmpi/mpiext" 2>/dev/null || true
# Static libraries, except the GoogleTest/GoogleMock/Benchmark ones their CMake configs name.
find "$prefix" -name '*.a' ! -name 'libgtest*.a' ! -name 'libgmock*.a' ! -name 'libbenchmark*.a' -delete
# Fortran bindings and Java/other Open MPI pieces (kdprune uses C and C++ only).
find "$prefix" \( -name '*fortran*' -o -name '*usempi*' -o -name 'libmpi_mpifh*' -o -name '*.mod' \
  -o -name 'mpif*' -o -name 'mpijava*' -o -name 'libmpi_java*' -o -name 'shmemfort*' \) -prune \
  -exec rm -rf {} +
# HDF5's C++/HL/Fortran link symlinks point at packages not in the kit (removed below as dangling);
# its compiler wrappers would make FindHDF5 ask for libcurl/libcrypto link symlinks: without
# them FindHDF5 finds hdf5.h and libhdf5.so by path (prefix/usr/{include,lib/...}/hdf5/serial).
rm -f "$u"/bin/h5* "$u"/bin/*h5cc* "$u"/bin/*h5c++* "$u"/bin/*h5fc*
rm -rf "$u/lib/x86_64-linux-gnu/hdf5/serial/libhdf5.settings" "$u/share/hdf5" 2>/dev/null || true

# ---- absolute symlinks -> relative (dpkg -x keeps /usr/... targets, which point at the host) ---
while IFS= read -r -d '' l; do
  t=$(readlink "$l")
  case "$t" in
    /*) if [ -e "$prefix$t" ] || [ -L "$prefix$t" ]; then
          ln -sfn "$(realpath -s --relative-to="$(dirname "$l")" "$prefix$t")" "$l"
        else
          rm -f "$l"
        fi ;;
  esac
done < <(find "$prefix" -type l -print0)
# Dangling relative links (e.g. HDF5's libhdf5_cpp.so -> a package not in the kit).
find "$prefix" -xtype l -delete

# Debian's alternatives are not set up by dpkg -x: the plain names of Open MPI's programs.
for n in mpicc mpicxx mpiCC mpic++ mpirun mpiexec; do
  [ -e "$u/bin/$n.openmpi" ] && ln -sfn "$n.openmpi" "$u/bin/$n"
done
ln -sfn pkgconf "$u/bin/pkg-config"

# ---- fallback libraries apart ------------------------------------------------------------------
mkdir -p "$prefix/fallback"
for f in "$la"/*.so* "$prefix"/lib/x86_64-linux-gnu/*.so*; do
  [ -e "$f" ] || continue
  b=$(basename "$f")
  [[ "$b" =~ $fallback_re ]] || continue
  [ -L "$f" ] && [[ "$b" == *.so ]] && continue   # link-time name (libz.so): stays, re-pointed below
  mv "$f" "$prefix/fallback/"
done
# Link-time names (libz.so, libbz2.so, libexpat.so) now dangle: point them into fallback/.
while IFS= read -r -d '' l; do
  [ -e "$l" ] && continue
  b=$(basename "$(readlink "$l")")
  if [ -e "$prefix/fallback/$b" ]; then
    ln -sfn "$(realpath -s --relative-to="$(dirname "$l")" "$prefix/fallback/$b")" "$l"
  else
    rm -f "$l"
  fi
done < <(find "$u" -type l -print0)
rm -rf "$la/sasl2" 2>/dev/null || true

# unresolved FILE: the libraries FILE needs that neither the kit nor the host's core C/C++
# runtime provides (ldd with the kit's directories first; a library found outside the kit that
# is not core counts as missing, since the GPU host may not have it).
kit_ld="$la:$la/openmpi/lib:$la/pmix2/lib:$la/hdf5/serial:$prefix/fallback"
unresolved() {
  LD_LIBRARY_PATH="$kit_ld" ldd "$1" 2>/dev/null | awk -v kit="$prefix/" -v core="$core_re" '
    /=>/ { name = $1; path = $3
           if (path == "not" || (index(path, kit) != 1 && name !~ core)) print name }'
}
# Open MPI and PMIx components whose libraries are not in the kit (InfiniBand, UCX, PSM, OFI,
# OpenSHMEM, ...) are removed: a world of 1 and shared-memory ranks on one host need only the
# ob1 PML with the self + vader BTLs. Open MPI skips a component that is absent.
rm -f "$la"/liboshmem* "$u"/bin/osh* "$u"/bin/shmem*
for so in "$la"/openmpi/lib/openmpi3/*.so "$la"/pmix2/lib/pmix/*.so; do
  [ -e "$so" ] || continue
  case "$(basename "$so")" in mca_spml_*|mca_sshmem_*|mca_scoll_*|mca_atomic_*|mca_memheap_*) rm -f "$so"; continue ;; esac
  [ -z "$(unresolved "$so")" ] || rm -f "$so"
done
# ... and the helper libraries only those components used (libmca_common_{ofi,ucx,verbs}).
for so in "$la"/libmca_common_*.so.*; do
  [ -f "$so" ] && [ -n "$(unresolved "$so")" ] && rm -f "$(dirname "$so")/$(basename "${so%%.so.*}")".so*
done
# Open MPI's internal headers (MCA development); mpi.h needs only ompi/mpi/cxx (C++ bindings).
oi="$la/openmpi/include"
rm -rf "$oi/openshmem" "$oi"/shmem* "$oi"/pshmem* "$oi/openmpi/opal" "$oi/openmpi/orte" \
  "$oi/openmpi/oshmem"
find "$oi/openmpi/ompi" -mindepth 1 -maxdepth 1 ! -name mpi -exec rm -rf {} +
find "$oi/openmpi/ompi/mpi" -mindepth 1 -maxdepth 1 ! -name cxx -exec rm -rf {} +
find "$prefix" -xtype l -delete

# ---- pkg-config files: prefix relative to the file ($pcfiledir is pkgconf's) -------------------
while IFS= read -r -d '' pc; do
  rel=$(realpath -s --relative-to="$(dirname "$pc")" "$u")
  sed -i -E -e "s#^prefix=/usr\$#prefix=\${pcfiledir}/$rel#" \
    -e "s#^([a-z_]+)=/usr(/|\$)#\1=\${prefix}\2#" "$pc"
done < <(find "$prefix" -name '*.pc' -print0)

# ---- CMake package files with absolute /usr paths ----------------------------------------------
# (most compute their prefix from their own location; these few hard-code /usr)
while IFS= read -r -d '' f; do
  if grep -q '"/usr/' "$f"; then
    rel=$(realpath -s --relative-to="$(dirname "$f")" "$u")
    sed -i -e "s#\"/usr/#\"\${CMAKE_CURRENT_LIST_DIR}/$rel/#g" "$f"
  fi
done < <(find "$prefix" -name '*.cmake' -print0)

# ---- libtool files name /usr and are not needed ----------------------------------------------
find "$prefix" -name '*.la' -delete
# ---- every shared library and program in the kit must resolve inside kit + core runtime -------
missing=$(find "$prefix" -type f \( -name '*.so*' -o -path '*/bin/*' \) -print0 |
  while IFS= read -r -d '' f; do
    file -b "$f" | grep -q '^ELF' || continue
    for n in $(unresolved "$f"); do echo "${f#$prefix/}: $n"; done
  done | sort -u)
if [ -n "$missing" ]; then
  echo "make-gpu-kit: libraries needed but neither in the kit nor core runtime (add their packages):" >&2
  echo "$missing" >&2
  exit 1
fi

# ---- pack, record and size ---------------------------------------------------------------------
for p in "${packages[@]}"; do basename "${newest[$p]}"; done > "$prefix/packages.txt"
# gzip: every host has it (xz or zstd may be missing there); relative paths only (prefix/...).
tar -C "$(dirname "$prefix")" -czf "$kit/kit.tar.gz" prefix
unpacked_kib=$(du -sk "$prefix" | cut -f1)
kit_kib=$(du -sk "$kit" | cut -f1)
tree_kib=$(cd "$root" && git ls-files -z | xargs -0 du -skc 2>/dev/null | tail -n 1 | cut -f1)
echo "make-gpu-kit: $kit/kit.tar.gz: $((kit_kib / 1024)) MiB ($((unpacked_kib / 1024)) MiB," \
     "$(find "$prefix" -type f | wc -l) files unpacked; fallback libraries" \
     "$(du -sk "$prefix/fallback" | cut -f1) KiB); tracked tree $((tree_kib / 1024)) MiB;" \
     "$(( $(date +%s) - start )) s"
if [ $(( (kit_kib + tree_kib) / 1024 )) -ge "$limit_mib" ]; then
  echo "make-gpu-kit: kit + tree exceed $limit_mib MiB (the device call carries 64 MiB at most)" >&2
  exit 1
fi
