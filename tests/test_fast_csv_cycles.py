"""The CSV writer's hand-written rows and the cycle search's shortcuts, against what they stand
for: csv.writer on a stackext document read back with odd values in every kind of cell, and the
old exhaustive search on every short word and on every kept log."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest
from test_fast_path import _run, edited_log
from test_speed_shape import _exhaustive

from stackext import cycles
from stackext.analyze import analyze
from stackext.model import Frame, SymbolQuality
from stackext.render import csv_
from stackext.sources import windbg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import bench_parse  # noqa: E402  (builds the big log the speed figures are measured on)

FIXTURE = "fixtures/024_insightengineering_ntfs_stacktext_full_x64.txt"
LOGS = sorted((ROOT / "fixtures").glob("*.txt"))


def test_the_hand_written_rows_are_taken_on_the_bench_log(tmp_path, monkeypatch):
    """Every stack of the bench log is written by hand (else the comparisons prove nothing)."""
    log = tmp_path / "big.log"
    bench_parse.build(log, 20)
    written = []
    real = csv_._plain
    monkeypatch.setattr(csv_, "_plain", lambda r: written.append(real(r)) or written[-1])
    fast = _run(log, "csv", True, monkeypatch)
    assert len(written) == 20 and None not in written
    assert fast == _run(log, "csv", False, monkeypatch)
    assert len(fast[1].splitlines()) == 1 + 20 * 36


# Hand edits of fixture 024's document, each alone: what csv.writer quotes, writes empty, or
# writes as str() does, in the cells the hand-written rows take as numbers, ids or strings.
EDITS = [(r'"index": 2,', r'"index": null,'), (r'"index": 2,', r'"index": true,'),
         (r'"index": 2,', r'"index": "2,5",'), (r'"index": 2,', r'"index": 2.5,'),
         (r'"size": (\d+),', r'"size": "1,2",'), (r'"size": (\d+),', r'"size": [1, 2],'),
         (r'"size": (\d+),', r'"size": "",'), (r'"size": (\d+),', r'"size": 1e+300,'),
         (r'"segment": 0,', r'"segment": null,'), (r'"segment": 0,', r'"segment": "0\\n",'),
         (r'"driver": false,', r'"driver": 1.5,'), (r'"driver": false,', r'"driver": "1",'),
         (r'"module": "nt",', r'"module": null,'), (r'"module": "nt",', r'"module": "n\\rt",'),
         (r'"function": "(\w+)",', r'"function": "a,b",'),
         (r'"call_site": "(\w+)', r'"call_site": "say \\"\1'),
         (r'"call_site": "(\w+)', r'"call_site": "None\1'),
         (r'"budget": (\d+),', r'"budget": "7,0",'), (r'"overflow": false,', r'"overflow": 1,')]


@pytest.mark.parametrize("edit", range(len(EDITS)))
def test_a_read_back_document_with_odd_cells_writes_as_csv_writer_does(edit, tmp_path,
                                                                        monkeypatch):
    log = edited_log(tmp_path, monkeypatch, *EDITS[edit])
    fast = _run(log, "csv", True, monkeypatch)
    assert fast == _run(log, "csv", False, monkeypatch)
    assert fast[0] == 0 and len(fast[1]) > 36 * 100


def _frames(keys):
    return [Frame(index=i, sp=0x1000 + 16 * i, ret=1, call_site=k, size=16)
            for i, k in enumerate(keys)]


@pytest.mark.parametrize("letters,longest", [("ABC", 9), ("ABCD", 7)])
def test_the_early_exit_finds_what_the_exhaustive_search_finds_on_every_short_word(
        letters, longest):
    """Every word of 2..longest keys: the shortcut (no round can repeat with fewer than two
    keys equal to the one p before, p of them for p >= 2) loses no cycle."""
    taken = 0
    for n in range(2, longest + 1):
        for word in itertools.product(letters, repeat=n):
            keys = list(word)
            found = cycles._find(_frames(keys), keys, 1000)
            assert found == _exhaustive(_frames(keys), keys, 1000), word
            taken += n - len(set(keys)) >= 2 and not cycles._may_repeat(keys, n - len(set(keys)))
    assert taken > 100  # words with repeated keys that the shortcut alone answered


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.name[:24])
def test_the_cached_keys_and_the_search_give_what_the_calls_give_on_every_log(log,
                                                                             monkeypatch):
    stacks = [analyze(s) for s in windbg.read_file(str(log))
              if not isinstance(s, windbg.EmbeddedJson)]
    for r in stacks:
        scope = [f for f in r.frames if f.segment == r.thread_segment]
        for cold in (True, False):
            if cold:
                monkeypatch.setattr(cycles, "_SITES", {})
                monkeypatch.setattr(cycles, "_FUNCTIONS", {})
            assert cycles._keys(scope) == ([cycles._site(f) for f in scope],
                                           [cycles._function(f) for f in scope])
        found = cycles.find_cycles(r.frames, r.thread_segment, r.remaining)
        monkeypatch.setattr(cycles, "_may_repeat", lambda keys, repeats: repeats > 0)
        assert found == cycles.find_cycles(r.frames, r.thread_segment, r.remaining)
        monkeypatch.undo()


def test_a_nearest_export_is_keyed_by_its_call_site_though_its_function_is_cached():
    """Fltmgr with its PDB and without it (a nearest export: compared by call site): the
    cache of the first must not answer for the second."""
    pdb = Frame(index=0, sp=0x1000, ret=1, call_site="FLTMGR!FltpDispatch+0x1ee",
                module="FLTMGR", function="FltpDispatch", symbol_quality=SymbolQuality.PDB)
    export = Frame(index=1, sp=0x1100, ret=1, call_site="FLTMGR!FltpDispatch+0x9a3e",
                   module="FLTMGR", function="FltpDispatch",
                   symbol_quality=SymbolQuality.EXPORT)
    for _ in range(2):  # cold, then warm
        assert cycles._keys([pdb, export]) == (
            ["fltmgr!fltpdispatch+0x1ee", "fltmgr!fltpdispatch+0x9a3e"],
            ["fltmgr!fltpdispatch", "fltmgr!fltpdispatch+0x9a3e"])
