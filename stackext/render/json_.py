"""JSON: the contract other tools read. Addresses are hex strings (64-bit values do not survive
JSON readers that use doubles); sizes are ints; unknown is null. `load` reads it back.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, Dict, List, Optional

from stackext import __version__
from stackext.errors import StackextError
from stackext.model import (
    Bugcheck,
    Cycle,
    Frame,
    FunctionTotal,
    ModuleTotal,
    Segment,
    StackReport,
)
from stackext.render import RenderOptions

# Printed alone on a line around the document inside a debugger, so that a kd -logo log can be
# read back by `stackext usage LOG` without analysing again.
MARKER_BEGIN = "----- stackext json begin -----"
MARKER_END = "----- stackext json end -----"

_FRAME_HEX = ("sp", "ret", "ip", "trap_frame")
_STACK_HEX = ("thread", "process", "stack_base", "stack_limit", "committed_limit")


def _hex(v: Optional[int]) -> Optional[str]:
    return None if v is None else "0x%x" % v


def _unhex(v: Any) -> Optional[int]:
    if v is None:
        return None
    if isinstance(v, int):
        return v
    return int(str(v), 16)


def frame_dict(f: Frame) -> Dict[str, Any]:
    d = {
        "index": f.index, "sp": _hex(f.sp), "ret": _hex(f.ret), "call_site": f.call_site,
        "module": f.module, "function": f.function, "offset": f.offset, "inline": f.inline,
        "size": f.size, "size_unknown_reason": f.size_unknown_reason, "segment": f.segment,
        "driver": f.driver, "heavy": f.heavy, "estimated": f.estimated, "ip": _hex(f.ip),
        "source_file": f.source_file, "source_line": f.source_line, "memory": f.memory,
        "trap_frame": _hex(f.trap_frame), "line": f.line,
    }
    if f.locals is not None:
        d["locals"] = f.locals
    if f.layout is not None:
        d["layout"] = f.layout
    return d


def stack_dict(r: StackReport) -> Dict[str, Any]:
    return {
        "source": r.source, "arch": r.arch, "kernel": r.kernel, "thread": _hex(r.thread),
        "process": _hex(r.process), "image": r.image, "state": r.state,
        "bugcheck": None if r.bugcheck is None else {
            "code": _hex(r.bugcheck.code), "args": [_hex(a) for a in r.bugcheck.args]},
        "stack_base": _hex(r.stack_base), "stack_limit": _hex(r.stack_limit),
        "bounds_note": r.bounds_note, "budget": r.budget, "budget_origin": r.budget_origin,
        "budget_note": r.budget_note, "used": r.used, "used_is_lower_bound": r.used_is_lower_bound,
        "remaining": r.remaining,
        "remaining_is_upper_bound": bool(r.extra.get("remaining_is_upper_bound")),
        "percent": None if r.percent is None else round(r.percent, 1),
        "not_shown": r.extra.get("not_shown"),
        "overflow": r.overflow, "double_fault": r.double_fault, "below_limit": r.below_limit,
        "verdict": r.verdict, "start_area": r.start_area, "thread_segment": r.thread_segment,
        "frames_from": r.frames_from, "high_water": r.high_water,
        "committed_limit": _hex(r.committed_limit),
        "heavy_threshold": r.heavy_threshold,
        "frames": [frame_dict(f) for f in r.frames],
        "segments": [{"index": s.index, "kind": s.kind, "first_frame": s.first_frame,
                      "last_frame": s.last_frame, "low": _hex(s.low), "high": _hex(s.high),
                      "note": s.note} for s in r.segments],
        "heaviest": list(r.heaviest), "heaviest_drivers": list(r.heaviest_drivers),
        "modules": [{"module": m.module, "bytes": m.bytes, "frames": m.frames,
                     "driver": m.driver, "share": None if m.share is None
                     else round(m.share, 4)} for m in r.modules],
        "functions": [{"function": x.function, "bytes": x.bytes, "count": x.count,
                       "module": x.module, "driver": x.driver} for x in r.functions],
        "cycles": [{"call_sites": c.call_sites, "repeats": c.repeats,
                    "bytes_per_round": c.bytes_per_round, "first_frame": c.first_frame,
                    "last_frame": c.last_frame, "rounds_left": c.rounds_left,
                    "rounds_left_at_most": c.rounds_left_at_most} for c in r.cycles],
        "warnings": list(r.warnings),
    }


def document(reports: List[StackReport]) -> Dict[str, Any]:
    return {"tool": "stackext", "version": __version__,
            "stacks": [stack_dict(r) for r in reports]}


def stack_json(r: StackReport, indent: str = "") -> str:
    """One stack as JSON text: a key per line, a frame per line (readable, and written by the
    C encoder: `indent=` would switch json to its slow pure-Python path)."""
    d = stack_dict(r)
    pad = indent + "  "
    lines = []
    for key, value in d.items():
        if key in ("frames", "modules", "functions", "segments") and value:
            inner = (",\n" + pad + "  ").join(json.dumps(v) for v in value)
            lines.append('%s%s: [\n%s  %s\n%s]' % (pad, json.dumps(key), pad, inner, pad))
        else:
            lines.append("%s%s: %s" % (pad, json.dumps(key), json.dumps(value)))
    return "{\n" + ",\n".join(lines) + "\n" + indent + "}"


def _pick(cls, d: Dict[str, Any]) -> Dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}


def load_stack(d: Dict[str, Any]) -> StackReport:
    frames = []
    for fd in d.get("frames", []):
        fd = dict(fd)
        for k in _FRAME_HEX:
            fd[k] = _unhex(fd.get(k))
        fd.setdefault("call_site", "")
        frames.append(Frame(**_pick(Frame, fd)))
    sd = dict(d)
    for k in _STACK_HEX:
        sd[k] = _unhex(sd.get(k))
    bc = sd.get("bugcheck")
    sd["bugcheck"] = None if not bc else Bugcheck(code=_unhex(bc["code"]),
                                                  args=[_unhex(a) for a in bc["args"]])
    sd["frames"] = frames
    sd["segments"] = [Segment(**dict(_pick(Segment, s), low=_unhex(s.get("low")),
                                     high=_unhex(s.get("high")))) for s in d.get("segments", [])]
    sd["modules"] = [ModuleTotal(**_pick(ModuleTotal, m)) for m in d.get("modules", [])]
    sd["functions"] = [FunctionTotal(**_pick(FunctionTotal, x)) for x in d.get("functions", [])]
    sd["cycles"] = [Cycle(**_pick(Cycle, c)) for c in d.get("cycles", [])]
    report = StackReport(**_pick(StackReport, sd))
    if d.get("remaining_is_upper_bound"):
        report.extra["remaining_is_upper_bound"] = True
    if d.get("not_shown") is not None:
        report.extra["not_shown"] = d["not_shown"]
    return report


def load(text: str, where: str = "<json>") -> List[StackReport]:
    """Read a document written by `render` back into reports (to render it again)."""
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("tool") != "stackext":
            raise ValueError("not a stackext JSON document")
        return [load_stack(s) for s in doc["stacks"]]
    except (ValueError, KeyError, TypeError) as e:
        raise StackextError("cannot read stackext JSON: %s" % e, where) from None


def begin(opts: RenderOptions) -> str:
    head = '{\n  "tool": "stackext",\n  "version": %s,\n  "stacks": [' % json.dumps(__version__)
    return (MARKER_BEGIN + "\n" + head) if opts.markers else head


def one(r: StackReport, opts: RenderOptions, position: int) -> str:
    return (",\n" if position else "\n") + "    " + stack_json(r, "    ")


def end(opts: RenderOptions, count: int) -> str:
    tail = "\n  ]\n}\n" if count else "]\n}\n"
    return tail + (MARKER_END + "\n" if opts.markers else "")
