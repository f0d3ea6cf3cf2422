"""Speed-relevant behaviour pinned without timing: how much work the cycle search does per frame,
and what a bare `--help` or a JSON run imports."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from stackext import cycles
from stackext.model import Frame

ROOT = Path(__file__).resolve().parent.parent


class CountingKey:
    """A key that counts Python-level comparisons (the search once made up to 64 slice
    comparisons at every position of an A,A,U(i) stack)."""

    calls = 0

    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        CountingKey.calls += 1
        return self.name == other.name

    def __ne__(self, other):
        CountingKey.calls += 1
        return self.name != other.name

    def __hash__(self):
        return hash(self.name)


def _frames(names):
    return [Frame(index=i, sp=0x1000 + 16 * i, ret=1, call_site=k, size=16)
            for i, k in enumerate(names)]


SHAPES = {
    "A,A,U(i)": lambda n: ["A" if i % 3 < 2 else "U%d" % i for i in range(n)],
    "A,U(i)": lambda n: ["A" if i % 2 else "U%d" % i for i in range(n)],
    "all A": lambda n: ["A"] * n,
    "period 65": lambda n: ["p%d" % (i % 65) for i in range(n)],
    "two keys": lambda n: ["AB"[(i * 7 + i // 5) % 2] for i in range(n)],
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_cycle_search_compares_each_key_a_bounded_number_of_times(shape):
    names = SHAPES[shape](600)
    keys = [CountingKey(x) for x in names]
    CountingKey.calls = 0
    found = cycles._find(_frames(names), keys, 10000)
    # one dict lookup per key (hash + at most a few equality checks), never per period
    assert CountingKey.calls <= 2 * len(keys)
    # and the search still finds what it found before: the old exhaustive search's answer
    assert found == _exhaustive(_frames(names), names, 10000)


def _exhaustive(scope, keys, remaining):
    """The old search (every period at every position), kept here as the reference."""
    n, out, i = len(keys), [], 0
    while i < n:
        best = None
        for p in range(1, min(cycles.MAX_PERIOD, (n - i) // 2) + 1):
            if keys[i + p] != keys[i]:
                continue
            r = 1
            while i + (r + 1) * p <= n and keys[i + r * p: i + (r + 1) * p] == keys[i: i + p]:
                r += 1
            if r >= (3 if p == 1 else 2) and (best is None or r * p > best[0]):
                best = (r * p, p, r)
        if best is None:
            i += 1
            continue
        covered, p, r = best
        sizes = [f.size for f in scope[i + p: i + 2 * p]] if r > 2 else \
            [f.size for f in scope[i: i + p]]
        per_round = sum(sizes)
        out.append(cycles.Cycle(call_sites=[f.call_site for f in scope[i: i + p]], repeats=r,
                                bytes_per_round=per_round, first_frame=scope[i].index,
                                last_frame=scope[i + covered - 1].index,
                                rounds_left=max(remaining, 0) // per_round))
        i += covered
    out.sort(key=lambda c: -(c.repeats * len(c.call_sites)))
    return out


def test_cycle_search_uses_two_byte_keys_past_255_distinct_functions():
    names = ["u%d" % i for i in range(300)] + ["X", "Y", "Z"] * 4 + ["v%d" % i for i in range(9)]
    found = cycles._find(_frames(names), names, 1000)
    assert [(c.call_sites, c.repeats, c.first_frame) for c in found] == \
        [(["X", "Y", "Z"], 4, 300)]


RENDERER_MODULES = re.compile(r"\|\s*(tabulate|stackext\.render\.(?!base\b|__init__)\w+)\s*$")


@pytest.mark.parametrize("entry", ["stackext", "stackext.usage", "stackext.threads"])
def test_help_imports_no_renderer_and_no_tabulate(entry):
    """Every `!py` is a fresh interpreter: `--help` (and the parser every run builds) must not
    pay for a renderer it does not use. Read from the interpreter's own import log."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", entry, "--help"],
                          cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    assert proc.returncode == 0, proc.stderr[-400:]
    imported = [m.group(1) for m in map(RENDERER_MODULES.search, proc.stderr.splitlines()) if m]
    assert "stackext.cli" in proc.stderr or entry != "stackext"
    assert imported == []


def test_a_json_run_imports_only_the_json_renderer():
    code = ("import sys; from stackext import cli; cli.main(['usage', '--format', 'json', "
            "'fixtures/024_insightengineering_ntfs_stacktext_full_x64.txt']); "
            "sys.stderr.write(' '.join(sorted(m for m in sys.modules if m == 'tabulate' or "
            "m.startswith('stackext.render.'))))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 0, proc.stderr[-400:]
    # json_fast is the JSON writer's own fast path, no other format's renderer
    assert proc.stderr.split() == ["stackext.render.base", "stackext.render.json_",
                                   "stackext.render.json_fast"]


FIXTURES = sorted(p for p in (ROOT / "fixtures").glob("*.txt"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name[:40])
def test_row_first_path_reads_every_fixture_as_the_full_cascade_does(path, monkeypatch):
    """The reader tries an `sp ret ...` line as a row before its cascade of ~20 line kinds; on
    every real log that must give exactly what the cascade alone gives."""
    from stackext.sources import windbg
    from stackext.sources.windbg import reader

    def read():
        try:
            return list(windbg.read_file(str(path)))
        except Exception as e:  # the same error both ways counts as the same answer
            return [repr(e)]

    fast = read()
    monkeypatch.setattr(reader, "SP_ROW_RE", re.compile(r"(?!)"))
    assert read() == fast


def test_row_first_path_is_taken_on_most_x64_fixtures():
    from stackext.sources.windbg.lines import clean_line
    from stackext.sources.windbg.reader import SP_ROW_RE

    taken = [p.name for p in FIXTURES if "x64" in p.name and any(
        SP_ROW_RE.match(clean_line(x)) for x in p.read_text("utf-8").splitlines())]
    assert len(taken) >= 20, taken


def _all_runs(keys):
    """Every maximal run of keys[j] == keys[j + p] (p = 1..64) at least p long, by brute force."""
    n, runs = len(keys), []
    for p in range(1, min(cycles.MAX_PERIOD, n // 2) + 1):
        j = 0
        while j < n - p:
            if keys[j] != keys[j + p]:
                j += 1
                continue
            end = j
            while end < n - p and keys[end] == keys[end + p]:
                end += 1
            if end - j >= p:
                runs.append((j, end, p))
            j = end
    return sorted(runs)


@pytest.mark.parametrize("keys", ["AA", "ABAB", "xABCABCy", "ABCDEFGHIABCDEFGHI", "AAxA"])
def test_a_run_as_long_as_the_repeated_keys_is_found(keys):
    """A round of p keys repeated once has exactly p repeated keys: the bound p <= n - distinct
    is tight, and such a run is still searched."""
    assert cycles._runs(list(keys)) == _all_runs(list(keys)) != []


@pytest.mark.parametrize("seed", range(40))
def test_the_cycle_search_skips_no_period_that_holds_a_run(seed):
    """Only the periods at which a key recurs, and none above the count of repeated keys, are
    searched: the runs found are those of a search over every period."""
    import random
    rng = random.Random(seed)
    n = rng.randrange(2, 160)
    alphabet = rng.choice([2, 3, 5, 12, n])
    keys = ["k%d" % rng.randrange(alphabet) for _ in range(n)]
    if seed % 4 == 0:  # a distinct stack with a few repeats and a real round in it
        keys = ["u%d" % i for i in range(n)]
        at, p = rng.randrange(n), rng.randrange(1, 9)
        keys[at:at + 3 * p] = (["r%d" % i for i in range(p)] * 3)[: len(keys[at:at + 3 * p])]
    assert cycles._runs(keys) == _all_runs(keys)


def test_a_frame_has_slots_not_an_instance_dict_and_stays_a_dataclass():
    """A big log holds every frame: slots (stackext.slotted) make each smaller and faster to
    make and read; the dataclass's defaults, equality and fields carry over."""
    import dataclasses
    import sys as _sys

    f = Frame(3, 0x1000, 0x2000, "nt!KiPageFault+0x474", "nt", "KiPageFault", 0x474)
    assert not hasattr(f, "__dict__")
    assert [x.name for x in dataclasses.fields(Frame)][:4] == ["index", "sp", "ret", "call_site"]
    assert f.args == [] and f.segment == 0 and f.driver is False and f.size is None
    assert f.args is not Frame(0, None, None, "x").args  # the default factory still runs
    assert f == Frame(3, 0x1000, 0x2000, "nt!KiPageFault+0x474", "nt", "KiPageFault", 0x474)
    with pytest.raises(AttributeError):
        f.not_a_field = 1
    assert _sys.getsizeof(f) < 300  # 28 slots: no dict beside them
