"""Issue 9 point 14: the modules on the stack without symbols, named once; a --symbols folder
that does not exist. Frames as the real engine gave them on ../shared/kernel-dumps/triage_x64.dmp
(tests/realengine/test_kernel_dump_real.py runs the same on the dump)."""

from __future__ import annotations

from stackext.model import Frame
from stackext.sources.pykd.nosymbols import missing_symbol_folders, modules_without_symbols


def _f(i, site, module, function=None):
    return Frame(index=i, sp=0xFFFF850429891000 + 0x100 * i, ret=1, call_site=site, module=module,
                 function=function)


def test_modules_without_symbols_up_to_where_the_walk_lost_track():
    frames = [_f(0, "amdppm!WriteIoMemRawEx+0x112", "amdppm", "WriteIoMemRawEx"),
              _f(1, "Wdf01000+0x7c027", "Wdf01000"), _f(2, "Wdf01000+0x1234", "Wdf01000"),
              _f(3, "0xffffc08be52e7e28", None), _f(4, "nt+0x3f5a80", "nt")]
    w = modules_without_symbols(frames)
    assert w == ("no symbols for Wdf01000 on this stack (frames show module+offset, sizes stay "
                 "right): put the PDB on the symbol path and run `.reload /f Wdf01000`")
    assert modules_without_symbols(frames[:1]) is None
    two = modules_without_symbols([_f(0, "amdppm+0x334c", "amdppm"), _f(1, "nt+0x10", "nt")])
    assert two.startswith("no symbols for amdppm, nt on this stack") and "PDBs" in two


def test_a_symbols_folder_that_does_not_exist(tmp_path):
    assert missing_symbol_folders(str(tmp_path)) == []
    gone = str(tmp_path / "nope")
    assert missing_symbol_folders("%s;srv*C:\\sym*https://symbols.example/symbols" % gone) \
        == ["--symbols folder %s does not exist: no symbols load from it" % gone]
    assert missing_symbol_folders(None) == []
