"""stackext as users run it: an extension command in kd. The lane's minimal kd (kd.c: dbgeng's
DebugCreate, OpenDumpFile, WaitForEvent, Execute) runs `.load pykd.pyd; !py stackext.usage` on the
lane's dumps under Wine, and scripts/stackext-batch.cmd runs under Wine's cmd with that kd.

pykd.pyd's own `!py` garbles a script's arguments under Wine, so options reach the launcher in
STACKEXT_ARGS (scripts/stackext.usage). It ends the process with a C++ exception (0xe06d7363)
after the script's output: the exit status is not looked at, the output is.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.realengine

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from knfrows import check_sizes, knf_rows  # noqa: E402

BEGIN = "----- stackext json begin -----"
END = "----- stackext json end -----"
# dump -> commands before stackext (recurse: the deep thread is ~2, the engine selects ~0)
BEFORE = {"seed": "", "inline": "", "recurse": "~2s; "}


def json_block(text):
    """The stackext JSON document between the markers (the callbacks carry no engine chatter)."""
    body = text.split(BEGIN, 1)[1].split(END, 1)[0]
    return json.loads(body[body.index("{"):])


def stackext_cli(*args):
    cp = subprocess.run([sys.executable, "-m", "stackext"] + list(args), cwd=ROOT,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    return cp


@pytest.fixture(scope="module")
def kd(realengine, tmp_path_factory):
    """kd(name, after="", args="--format json", dml=False) -> (stdout, log path)."""
    realengine.install_stackext()
    work = tmp_path_factory.mktemp("kd")
    shutil.copy(os.path.join(ROOT, "scripts", "stackext.usage"), str(work))
    load = ".load %s; " % realengine.winpath(realengine.pykd_pyd())

    def run(name, after="", args="--format json", dml=False):
        log = str(work / ("%s%s.log" % (name, len(os.listdir(str(work))))))
        cmds = BEFORE[name] + load + "!py stackext.usage" + after
        cp = realengine.run_kd((["-dml"] if dml else []) + [
            "-z", realengine.winpath(realengine.dump_path(name)),
            "-y", realengine.winpath(realengine.pdb_dir()),
            "-logo", realengine.winpath(log), "-c", cmds],
            cwd=str(work), env_extra={"STACKEXT_ARGS": args})
        assert "0:000>" in cp.stdout, cp.stderr[-2000:]
        return cp.stdout, log

    return run


@pytest.mark.parametrize("name", ["seed", "recurse", "inline"])
def test_bang_py_in_kd_gives_the_engines_knf_sizes_and_the_log_reads_back(kd, realengine, name):
    out, log = kd(name, after="; knf 1000")
    doc = json_block(out)
    stack = doc["stacks"][0]
    frames, rows = stack["frames"], knf_rows(out.split(END, 1)[1])
    checked = check_sizes(frames, rows)
    # the report names the dump (and the thread), from the engine's `||` and `~.`
    dump = realengine.winpath(realengine.dump_path(name))
    assert re.match(re.escape(dump) + r", thread ~\d+ \(Id [0-9a-f]+\.[0-9a-f]+\)$",
                    stack["source"]), stack["source"]

    # `stackext usage LOG`: the kd log holds the JSON (read back as is) and the engine's knf
    # (read by the log reader): both give the same sizes; the engine's chatter of stackext's own
    # commands (pykd's dbgCommand output is logged) is not read as stacks
    cp = stackext_cli("usage", "--format", "json", log)
    assert cp.returncode == 0, cp.stderr
    back = json.loads(cp.stdout)["stacks"]
    assert len(back) == 2 and back[0]["source"] == stack["source"]
    assert back[1]["source"].startswith(log + ":")  # the knf after it, named by its log line
    assert [f["size"] for f in back[0]["frames"]] == [f["size"] for f in frames]
    assert [f["call_site"] for f in back[0]["frames"]] == [f["call_site"] for f in frames]
    sized = [(a["size"], b["size"]) for a, b in zip(frames, back[1]["frames"])
             if a["size"] is not None and b["size"] is not None]
    assert len(sized) >= checked and all(a == b for a, b in sized)


def test_the_seed_story_in_kd(kd):
    """MyStruct_toDebugStr owns the 0x890 bytes that knf prints on log_struct's row."""
    out, _ = kd("seed", after="; knf 1000")
    stack = json_block(out)["stacks"][0]
    rows = knf_rows(out.split(END, 1)[1])
    big = stack["frames"][stack["heaviest"][0]]
    i = stack["heaviest"][0]
    assert big["call_site"] == "seed!MyStruct_toDebugStr+0x72" == rows[i]["site"]
    assert big["size"] == rows[i + 1]["mem"] == 0x890
    assert rows[i + 1]["site"].startswith("seed!log_struct")
    assert big["locals"][0]["name"] == "copy" and big["locals"][0]["size"] == 2064


def test_engine_cuts_one_output_call_at_16383_characters(kd, realengine, tmp_path):
    """The fact behind issue 11.1 (and the fake's OUTPUT_LIMIT): one dprintln passes 16,383
    characters, newline included; the rest is dropped."""
    script = tmp_path / "long.py"
    script.write_text("import pykd\npykd.dprintln('A' * 20000)\npykd.dprintln('END')\n")
    out = realengine.run_kd(["-z", realengine.winpath(realengine.dump_path("seed")), "-c",
                             ".load %s; !py %s" % (realengine.winpath(realengine.pykd_pyd()),
                                                   realengine.winpath(str(script)))]).stdout
    sys.path.insert(0, os.path.dirname(HERE))
    from fakes.pykd import OUTPUT_LIMIT

    assert "A" * 16383 + "END\n" in out.replace("\r", "")
    assert "A" * 16384 not in out and OUTPUT_LIMIT == 16383


@pytest.mark.parametrize("dml", [False, True])
def test_a_long_report_arrives_whole(kd, dml):
    """recurse: 259 frames, a 32 KB table (73 KB of DML). Before the report went out in pieces,
    a plain kd got it cut at row 0x3d and a DML-aware client in the middle of a <link> tag."""
    out, _ = kd("recurse", after="; .echo kd-after", args="", dml=dml)
    report = out.split("0:000>", 1)[1]
    rows = re.findall(r"^(?:<link cmd=\"\.frame 0x[0-9a-f]+;dv /t /v\">)?([0-9a-f]{2,3})(?:</link>)?\s",
                      report, re.M)
    assert [int(r, 16) for r in rows] == list(range(259))
    tail = report[report.index("by module:"):]
    assert "recurse" in tail and "cycle frames" in tail
    assert "252x" in tail.split("cycle frames", 1)[1] and tail.rstrip().endswith("kd-after")
    if dml:  # what WinDbg receives: the markup, whole
        assert report.count("<link") == report.count("</link>") > 259
        assert report.count("<col") == report.count("</col>") > 0
    else:  # a plain client gets it converted to text
        assert "<link" not in report and "&lt;" not in report


def _wine_cmd(realengine, args, timeout=600, env_extra=None):
    wine = realengine.wine_binary()
    cp = subprocess.run([wine, "cmd", "/v:on", "/c"] + args, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                        env=realengine.wine_env(env_extra), cwd=realengine.python_dir(),
                        timeout=timeout, universal_newlines=True, errors="replace")
    return cp.returncode, cp.stdout.replace("\r", "")


KITS = r"HKLM\SOFTWARE\Microsoft\Windows Kits\Installed Roots"


@pytest.fixture
def kits_root(realengine, tmp_path):
    """A Windows Kits root whose Debuggers\\x64 is the lane's kd folder, in the registry."""
    root = tmp_path / "kits"
    (root / "Debuggers").mkdir(parents=True)
    os.symlink(realengine.python_dir(), str(root / "Debuggers" / "x64"))
    wine = realengine.wine_binary()
    env = realengine.wine_env()
    subprocess.run([wine, "reg", "add", KITS, "/v", "KitsRoot10", "/t", "REG_SZ", "/d",
                    realengine.winpath(str(root)) + "\\", "/f"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield root
    subprocess.run([wine, "reg", "delete", KITS, "/v", "KitsRoot10", "/f"], env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_batch_cmd_under_wine_cmd(realengine, tmp_path, kits_root):
    """scripts/stackext-batch.cmd under Wine's cmd (delayed expansion on): kd found through the
    KitsRoot10 registry value, PDBs found through the dump's own folder only, a dump kd cannot
    open counted as failed, and every stack read back from the logs names its dump."""
    realengine.install_stackext()
    dumps, out = tmp_path / "dumps", tmp_path / "out"
    dumps.mkdir()
    for name in ("seed", "inline"):
        os.symlink(realengine.dump_path(name), str(dumps / (name + ".dmp")))
        for ext in (".exe", ".pdb"):
            os.symlink(os.path.join(realengine.pdb_dir(), name + ext), str(dumps / (name + ext)))
    (dumps / "broken.dmp").write_text("not a dump\n")
    rc, text = _wine_cmd(realengine, [
        realengine.winpath(os.path.join(ROOT, "scripts", "stackext-batch.cmd")),
        "-DumpFolder", realengine.winpath(str(dumps)), "-OutFolder", realengine.winpath(str(out)),
        "-Pykd", realengine.winpath(realengine.pykd_pyd()), "-SymbolPath", "Z:\\nonexistent"])
    assert "with %s" % realengine.winpath(str(kits_root / "Debuggers" / "x64" / "kd.exe")) in text
    assert re.search(r"\[1/3\] broken\.dmp .*\n.*broken\.dmp: FAILED: no stackext JSON", text)
    assert "3 dump(s), 1 failed" in text and rc == 1, text
    assert "!py stackext.usage" in text  # the `!` survived delayed expansion
    logs = [str(out / "inline.txt"), str(out / "seed.txt")]
    cp = stackext_cli("usage", "--format", "csv", *logs)
    assert cp.returncode == 0, cp.stderr
    import csv

    rows = list(csv.DictReader(cp.stdout.splitlines()))
    sources = {r["source"].split(",")[0] for r in rows}
    assert sources == {realengine.winpath(str(dumps / n)) for n in ("inline.dmp", "seed.dmp")}
    seed = [r for r in rows if "seed.dmp" in r["source"]]
    # symbols came from the dump's own folder: named frames, the 0x890 copy on MyStruct_toDebugStr
    big = max(seed, key=lambda r: int(r["size"] or 0))
    assert big["call_site"] == "seed!MyStruct_toDebugStr+0x72" and big["size"] == "2192"


def test_batch_cmd_timeout_shows_progress_and_fails(realengine, tmp_path):
    """-Kd pointing at a kd that hangs: progress lines while it runs, then counted as failed."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    os.symlink(realengine.dump_path("seed_mini"), str(dumps / "seed_mini.dmp"))
    hang = tmp_path / "hangkd.cmd"
    hang.write_text("@ping -n 12 127.0.0.1 >nul\r\n")
    rc, text = _wine_cmd(realengine, [
        realengine.winpath(os.path.join(ROOT, "scripts", "stackext-batch.cmd")),
        realengine.winpath(str(dumps)), "-Kd", realengine.winpath(str(hang)),
        "-TimeoutSeconds", "6", "-SymbolPath", "Z:\\nonexistent"])
    assert "seed_mini.dmp: kd still running after 5 s" in text, text
    assert "seed_mini.dmp: FAILED: kd did not finish within 6 s" in text
    assert "1 dump(s), 1 failed" in text and rc == 1


def test_batch_cmd_usage_errors(realengine, tmp_path):
    script = realengine.winpath(os.path.join(ROOT, "scripts", "stackext-batch.cmd"))
    rc, text = _wine_cmd(realengine, [script, realengine.winpath(str(tmp_path)), "-Bogus", "1"])
    assert rc == 2 and "unknown option -Bogus" in text
    rc, text = _wine_cmd(realengine, [script, realengine.winpath(str(tmp_path)),
                                      "-TimeoutSeconds", "soon"])
    assert rc == 2 and "-TimeoutSeconds must be a positive number" in text
    rc, text = _wine_cmd(realengine, [script, realengine.winpath(str(tmp_path / "nope"))])
    assert rc == 2 and "no such folder" in text
