"""Binary in, FramesReport out: the PE, its PDB, the functions, the roots and their deepest
paths. The one place that decides which PDB and which roots.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from stackext.binary import functions as functions_
from stackext.binary import pe
from stackext.binary.callsfile import Calls
from stackext.binary.model import FramesReport, Function
from stackext.binary.paths import Graph
from stackext.binary.pdb import PdbSymbols, read_pdb
from stackext.errors import StackextError

DRIVER_ENTRIES = ("DriverEntry", "FxDriverEntry", "GsDriverEntry")


@dataclass
class FramesOptions:
    pdb: Optional[str] = None          # None: the one the debug directory names, next to it
    roots: List[str] = field(default_factory=list)
    all_roots: bool = False
    calls: Optional[Calls] = None


def _symbols(image: pe.Image, wanted: Optional[str], warnings: List[str]
             ) -> Tuple[Optional[str], Optional[PdbSymbols]]:
    path = wanted or image.default_pdb()
    if path is None:
        if image.pdb_name:
            warnings.append("PDB %s not found next to the binary; names from exports (give "
                            "--pdb FILE)" % os.path.basename(image.pdb_name.replace("\\", "/")))
        return None, None
    symbols = read_pdb(path)
    if image.pdb_guid and (symbols.guid, symbols.age) != (image.pdb_guid, image.pdb_age):
        message = "PDB does not match the binary (PDB %s age %d, binary wants %s age %s)" % (
            symbols.guid, symbols.age, image.pdb_guid, image.pdb_age)
        if wanted:
            raise StackextError(message, path)
        warnings.append(message + "; names from exports")
        return None, None
    return path, symbols


def _roots(image: pe.Image, fns: Dict[int, Function], opts: FramesOptions,
           by_name: Dict[str, int]) -> List[int]:
    roots = [r for r in sorted(image.exports) if r in fns]
    if image.entry_point in fns:
        roots.append(image.entry_point)
    roots += [by_name[n] for n in DRIVER_ENTRIES if n in by_name]
    for name in opts.roots:
        if name not in by_name:
            raise StackextError("--root %s: no function of that name in the binary" % name,
                                image.path)
        roots.append(by_name[name])
    if opts.all_roots:
        roots += [r for r, f in sorted(fns.items()) if f.address_taken]
    return list(dict.fromkeys(roots))


def analyze(path: str, opts: Optional[FramesOptions] = None) -> FramesReport:
    opts = opts or FramesOptions()
    image = pe.load(path)
    warnings = list(image.warnings)
    pdb_path, symbols = _symbols(image, opts.pdb, warnings)
    return of_image(image, symbols, opts, warnings, pdb_path,
                    "pdb" if symbols else "exports")


def pdb_for(image: pe.Image, path: str, warnings: List[str]) -> Optional[PdbSymbols]:
    """The symbols of a PDB the user named (a mismatch with the image is an error)."""
    return _symbols(image, path, warnings)[1]


def of_image(image: pe.Image, symbols: Optional[PdbSymbols], opts: FramesOptions,
             warnings: List[str], pdb_path: Optional[str], names_from: str) -> FramesReport:
    """The report of an image already read, with its names (a PDB's or the engine's)."""
    fns, _pointers = functions_.build(image, symbols)
    graph = Graph(fns, opts.calls)
    if graph.unknown_names:
        warnings.append("--calls names no function in the binary: %s"
                        % ", ".join(graph.unknown_names))
    paths = [graph.path(r) for r in _roots(image, fns, opts, graph.by_name)]
    paths.sort(key=lambda p: (-p.bytes, p.root))
    ordered = sorted(fns.values(), key=lambda f: (-f.frame, f.rva))
    for f in ordered:
        f.calls = sorted(set(f.calls + graph.resolved.get(f.rva, [])))
    return FramesReport(binary=image.path, module=image.module, pdb=pdb_path,
                        functions=ordered, paths=paths, warnings=warnings,
                        names_from=names_from if symbols else "exports")
