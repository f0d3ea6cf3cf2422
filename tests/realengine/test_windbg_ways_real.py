"""Issue 11 points 2-4 on the real engine (dump `inline`, with inline frames): `.prefer_dml`'s
text as stackext reads it, `lm` naming the export-only modules that symfile() names (without
loading symbols), @$thread through the evaluator, and every frame link `.frame 0xN;dv /t /v`
landing on row N (inline rows included) with the register context kept."""

import json
import os

import pytest

pytestmark = pytest.mark.realengine
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def facts(realengine):
    realengine.install_stackext()
    cp = realengine.run_script(os.path.join(HERE, "windbg_ways.py"),
                               [realengine.winpath(realengine.dump_path("inline")),
                                realengine.winpath(realengine.pdb_dir())], timeout=300)
    assert cp.returncode == 0, cp.stderr[-1500:]
    return json.loads([x for x in cp.stdout.splitlines() if x.startswith("{")][-1])


def test_prefer_dml_is_read_from_the_engine(facts):
    assert facts["prefer_dml"] == [False, True]  # dbgeng starts with it off


def test_lm_names_the_export_only_modules_without_symfile(facts):
    # lm loads nothing: a module whose symbols are not loaded yet is "(deferred)" there, and
    # only symfile() (which loads them, printing an error summary per module without a PDB)
    # finds it has exports only. So lm's list is the loaded part of symfile()'s (here 2 of 7).
    lm, symfile = set(facts["export_only"]), set(facts["symfile_export"])
    assert lm and lm < symfile


def test_thread_pseudo_register(facts):
    assert facts["thread"][0] == facts["thread"][1]


def test_every_frame_link_lands_on_its_row_and_keeps_rsp(facts):
    landed = facts["landed"]
    assert len(landed) == 12
    for n, row, rsp_kept in landed:
        assert isinstance(row, str) and row.startswith("%02x " % n), (n, row)
        assert rsp_kept
    assert "(Inline Function)" in landed[4][1] and "inner_helper" in landed[4][1]
