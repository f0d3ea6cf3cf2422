"""Drive the real debugger engine (pykd 0.3.4.15 + Microsoft dbgeng) under Wine.

Importable from pytest on Linux (no third-party imports). The heavy lifting is
done once by ``tests/realengine/setup.sh``; this module only finds its cache,
runs the Windows Python with the right Wine environment, and hands back a
``subprocess.CompletedProcess``.

    from tests.realengine import engine          # or: import engine (from this folder)
    ok, why = engine.available()
    engine.ensure_setup()                        # runs setup.sh (cached, fast when done)
    engine.install_stackext()                    # copy the repo's stackext/ into site/
    cp = engine.run_script(script, [engine.winpath(engine.dump_path("seed"))])
    cp, records = engine.probe("seed")           # run probe_engine.py, parsed

Environment:
    STACKEXT_REALENGINE_CACHE  cache folder (default tests/realengine/.cache)
    STACKEXT_WINE              wine binary to use (default: found by setup.sh)
"""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
SETUP_SH = os.path.join(HERE, "setup.sh")

DUMP_NAMES = ("seed", "seed_mini", "recurse", "recurse_shallow", "inline")
# dump name -> program (exe/pdb basename) that wrote it
DUMP_PROGRAM = {
    "seed": "seed",
    "seed_mini": "seed",
    "recurse": "recurse",
    "recurse_shallow": "recurse",
    "inline": "inline",
}
# dumps of programs/irp.c and programs/chkstk.c (-O2), for `stackext frames` against knf
FRAMES_DUMPS = ("irp", "chkstk")
# dumps written with MiniDumpWithFullMemory (TEB and all stack pages readable)
FULL_MEMORY_DUMPS = ("seed", "recurse", "recurse_shallow")

DBG_DLL_OVERRIDES = "mscoree,dbgeng,dbghelp,symsrv,srcsrv,dbgmodel=n"
EXIT_UNAVAILABLE = 3

_setup_result = None  # cached (ok, reason) of one ensure_setup() per process


def cache_dir():
    return os.path.abspath(
        os.environ.get("STACKEXT_REALENGINE_CACHE") or os.path.join(HERE, ".cache")
    )


def python_dir():
    return os.path.join(cache_dir(), "cp39")


def python_exe():
    return os.path.join(python_dir(), "python.exe")


def site_dir():
    return os.path.join(python_dir(), "site")


def prefix_dir():
    return os.path.join(cache_dir(), "prefix")


def pdb_dir():
    """Folder holding the test programs' .exe and .pdb files (use as symbol path)."""
    return os.path.join(cache_dir(), "build")


def dump_path(name):
    """Linux path of the minidump ``name`` (one of DUMP_NAMES)."""
    return os.path.join(cache_dir(), "dumps", name + ".dmp")


def winpath(path):
    """Linux absolute path -> the Windows path Wine sees (drive Z: is /)."""
    return "Z:" + os.path.abspath(path).replace("/", "\\")


def wine_binary():
    cand = [os.environ.get("STACKEXT_WINE")]
    try:
        with open(os.path.join(cache_dir(), "wine_path")) as f:
            cand.append(f.read().strip())
    except OSError:
        pass
    cand += [
        shutil.which("wine64"),
        shutil.which("wine"),
        "/usr/lib/wine/wine64",
        "/usr/lib/wine/wine",
    ]
    for c in cand:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def _is_ready():
    if not wine_binary():
        return False, "no wine binary (run: bash tests/realengine/setup.sh)"
    missing = [
        p
        for p in [
            python_exe(),
            os.path.join(python_dir(), "mscoree.dll"),
            os.path.join(site_dir(), "pykd", "pykd.pyd"),
            kd_exe(),
            os.path.join(site_dir(), "pykd", "mscoree.dll"),
        ]
        + [dump_path(n) for n in DUMP_NAMES]
        if not os.path.exists(p)
    ]
    if missing:
        return (
            False,
            "real-engine cache incomplete, missing %s (run: bash tests/realengine/setup.sh)"
            % missing[0],
        )
    return True, "ready"


def available():
    """(True, "ready") when the cache is complete and Wine is present, else (False, reason).

    Does not run setup.sh; see ensure_setup()."""
    return _is_ready()


def ensure_setup(timeout=1800, allow_install=None):
    """Run setup.sh once per process (cheap when cached). Returns (ok, reason).

    With STACKEXT_REALENGINE_NO_SETUP=1 it only checks the cache."""
    global _setup_result
    if _setup_result is not None:
        return _setup_result
    if os.environ.get("STACKEXT_REALENGINE_NO_SETUP") == "1":
        _setup_result = _is_ready()
        return _setup_result
    try:
        cp = subprocess.run(
            ["bash", SETUP_SH],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            universal_newlines=True,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        _setup_result = (False, "setup.sh did not finish: %s" % exc)
        return _setup_result
    if cp.returncode == EXIT_UNAVAILABLE:
        lines = [ln for ln in cp.stdout.splitlines() if "UNAVAILABLE" in ln]
        _setup_result = (False, lines[0] if lines else "setup.sh: Wine unavailable")
    elif cp.returncode != 0:
        _setup_result = (
            False,
            "setup.sh failed (exit %d): %s" % (cp.returncode, cp.stdout[-2000:]),
        )
    else:
        _setup_result = _is_ready()
    return _setup_result


def wine_env(env_extra=None):
    env = dict(os.environ)
    env.update(
        {
            "WINEPREFIX": prefix_dir(),
            "WINEDEBUG": "-all",
            "WINEDLLOVERRIDES": DBG_DLL_OVERRIDES,
            "PYTHONIOENCODING": "utf-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    if env_extra:
        env.update(env_extra)
    return env


def run_windows_python(args, env_extra=None, timeout=300, cwd=None, check=False):
    """Run ``python.exe ARGS`` (Windows CPython 3.9 with pykd) under Wine.

    ``args`` are passed verbatim to python.exe (convert file paths with winpath()).
    stdout/stderr are pipes (a file as stdout makes CPython fail at start-up under Wine).
    Note: python39._pth makes the embedded Python ignore PYTHONPATH; use install_stackext()
    or sys.path.insert in the script. Returns subprocess.CompletedProcess (text)."""
    return _run_wine(python_exe(), args, env_extra, timeout, cwd, check)


def _run_wine(exe, args, env_extra, timeout, cwd, check=False):
    """``exe ARGS`` under Wine with the lane's environment; stdout/stderr are pipes."""
    wine = wine_binary()
    if not wine:
        raise RuntimeError("wine not found; run bash tests/realengine/setup.sh")
    return subprocess.run(
        [wine, exe] + list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=wine_env(env_extra),
        cwd=cwd or python_dir(),
        timeout=timeout,
        universal_newlines=True,
        encoding="utf-8",
        errors="replace",
        check=check,
    )


def run_script(script, args=(), **kw):
    """Run a Linux-path Python script under the Windows Python."""
    return run_windows_python([winpath(script)] + list(args), **kw)


def kd_exe():
    """The lane's minimal kd (kd.c), built by setup.sh into the Windows Python's folder."""
    return os.path.join(python_dir(), "kd.exe")


def pykd_pyd():
    """pykd.pyd, which is itself a dbgeng extension (`.load` it, then `!py script`)."""
    return os.path.join(site_dir(), "pykd", "pykd.pyd")


def run_kd(args, env_extra=None, timeout=300, cwd=None):
    """Run ``kd.exe ARGS`` under Wine (same environment as the Windows Python); stdout is a pipe.
    pykd.pyd's `!py` ends the process with a C++ exception (0xe06d7363) after the script's
    output: the exit status is then not 0, so callers judge by the output."""
    return _run_wine(kd_exe(), args, env_extra, timeout, cwd)


def parse_probe_output(stdout):
    """probe_engine.py prints one JSON object per line; return {key: result} in order
    (a repeated key gets " #2", " #3", ...)."""
    import json

    records = {}
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        key = obj.get("key")
        k, i = key, 2
        while k in records:
            k = "%s #%d" % (key, i)
            i += 1
        records[k] = obj.get("result")
    return records


def probe(name, timeout=600):
    """Run probe_engine.py on dump ``name``; returns (CompletedProcess, {key: result})."""
    cp = run_script(
        os.path.join(HERE, "probe_engine.py"),
        [winpath(dump_path(name)), winpath(pdb_dir()), name],
        timeout=timeout,
    )
    return cp, parse_probe_output(cp.stdout)


def install_stackext(src=None):
    """Copy the repo's stackext/ package into the Windows Python's site/ (fresh copy each call,
    since the code changes between runs). Returns the destination path."""
    src = src or os.path.join(REPO_ROOT, "stackext")
    dst = os.path.join(site_dir(), "stackext")
    if os.path.isdir(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dst


if __name__ == "__main__":  # tiny CLI: python3 tests/realengine/engine.py SCRIPT [args...]
    ok, why = ensure_setup()
    if not ok:
        print(why, file=sys.stderr)
        sys.exit(EXIT_UNAVAILABLE)
    if len(sys.argv) > 1:
        res = run_script(sys.argv[1], sys.argv[2:])
        sys.stdout.write(res.stdout)
        sys.stderr.write(res.stderr)
        sys.exit(res.returncode)
    print(why)
