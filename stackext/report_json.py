"""The JSON document both ways (the contract other tools read), and the marker lines that frame
it in a kd log. Addresses are hex strings (64-bit values do not survive JSON readers that use
doubles); sizes are ints; unknown is null; typed reasons and kinds are their stable ids.

Shared by the JSON renderer and the log reader (which reads a kd log's document back).
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import Any, Collection, Dict, List, Optional

from stackext import __version__, words
from stackext import knowledge as K
from stackext.addresses import hex_or_none
from stackext.errors import StackextError
from stackext.model import (
    Bugcheck,
    Cycle,
    Frame,
    FrameLayout,
    FramesFrom,
    FunctionTotal,
    GapKind,
    HighWater,
    Local,
    LostCause,
    LostTrack,
    ModuleTotal,
    NotProven,
    Origin,
    Segment,
    SegmentKind,
    SizeNote,
    StackReport,
    SymbolQuality,
    UnknownReason,
    VerdictKind,
)

# Printed alone on a line around the document inside a debugger, so that a kd -logo log can be
# read back by `stackext usage LOG` without analysing again.
MARKER_BEGIN = "----- stackext json begin -----"
MARKER_END = "----- stackext json end -----"


def unhex(v: Any) -> Optional[int]:
    if v is None:
        return None
    if isinstance(v, int):
        return v
    return int(str(v), 16)


def _local(loc: Local) -> Dict[str, Any]:
    d = {"name": loc.name, "type": loc.type, "size": loc.size, "offset": loc.offset,
         "address": hex_or_none(loc.address)}
    if loc.size_estimated:
        d["size_estimated"] = True
    return d


def _high_water(hw: HighWater) -> Dict[str, Any]:
    d = {"address": hex_or_none(hw.address), "used": hw.used, "remaining": hw.remaining,
         "unreadable_pages": hw.unreadable_pages}
    if hw.pages_read is not None:
        d["pages_read"] = hw.pages_read
    if hw.page_granular:
        d["page_granular"] = True
    if hw.origin:
        d["from"] = hw.origin
    return d


def frame_dict(f: Frame) -> Dict[str, Any]:
    reason = f.size_unknown_reason
    d = {
        "index": f.index, "sp": hex_or_none(f.sp), "ret": hex_or_none(f.ret),
        "call_site": f.call_site, "module": f.module, "function": f.function,
        "offset": f.offset, "inline": f.inline, "size": f.size,
        "size_unknown_reason": None if reason is None else reason.value,
        "size_unknown_label": None if reason is None else reason.label,
        "gap_bytes": f.gap_bytes,
        "symbol_quality": None if f.symbol_quality is None else f.symbol_quality.value,
        "segment": f.segment, "driver": f.driver, "heavy": f.heavy, "estimated": f.estimated,
        "ip": hex_or_none(f.ip), "source_file": f.source_file, "source_line": f.source_line,
        "memory": f.memory, "trap_frame": hex_or_none(f.trap_frame), "line": f.line,
    }
    if f.size_note is not None:
        d["size_note"], d["size_note_label"] = f.size_note.value, f.size_note.label
    if f.locals is not None:
        d["locals"] = [_local(loc) for loc in f.locals]
    if f.layout is not None:
        d["layout"] = asdict(f.layout)
    return d


def _lost_track(r: StackReport) -> Optional[Dict[str, Any]]:
    lt = r.lost_track
    if lt is None:
        return None
    return {"frame": lt.frame, "ip": hex_or_none(lt.ip), "call_site": lt.call_site,
            "after": lt.after, "after_site": lt.after_site, "module": lt.module,
            "dropped": lt.dropped, "cause": lt.cause.value, "fault_arg": lt.fault_arg,
            "trap_site": lt.trap_site, "gap": None if lt.gap is None else lt.gap.value,
            "invalid_from": lt.invalid_from, "invalid_site": lt.invalid_site,
            "text": words.lost_track(r)}


def _segment(r: StackReport, s: Segment) -> Dict[str, Any]:
    return {"index": s.index, "kind": s.kind.value, "first_frame": s.first_frame,
            "last_frame": s.last_frame, "low": hex_or_none(s.low), "high": hex_or_none(s.high),
            "note": s.note, "used": s.used, "budget": s.budget,
            "heaviest_drivers": list(s.heaviest_drivers), "top": hex_or_none(s.top),
            "remaining": s.remaining, "bounds_from": s.bounds_from,
            "verdict": words.segment_verdict(r, s),
            "verdict_id": None if s.verdict is None else s.verdict.value,
            "verdict_proven": s.verdict_proven, "budget_note": s.budget_note}


def stack_dict(r: StackReport, leave_out: Collection[str] = ()) -> Dict[str, Any]:
    """The stack's object; the lists named in `leave_out` (frames, modules, functions) are
    left empty (a writer that writes them itself)."""
    return {
        "source": r.source, "arch": r.arch, "kernel": r.kernel, "thread": hex_or_none(r.thread),
        "thread_number": r.thread_number,
        "process": hex_or_none(r.process), "image": r.image, "state": r.state,
        "bugcheck": None if r.bugcheck is None else {
            "code": hex_or_none(r.bugcheck.code),
            "args": [hex_or_none(a) for a in r.bugcheck.args]},
        "exception_code": hex_or_none(r.exception_code), "guard_left": r.guard_left,
        "stack_base": hex_or_none(r.stack_base), "stack_limit": hex_or_none(r.stack_limit),
        "bounds_note": r.bounds_note, "budget": r.budget,
        "budget_origin": None if r.budget_origin is None else r.budget_origin.value,
        "budget_note": r.budget_note, "used": r.used, "used_is_lower_bound": r.used_is_lower_bound,
        "remaining": r.remaining, "remaining_is_upper_bound": r.remaining_is_upper_bound,
        "percent": None if r.percent is None else round(r.percent, 1),
        "not_shown": r.not_shown,
        "overflow": r.overflow, "double_fault": r.double_fault, "below_limit": r.below_limit,
        "verdict": words.verdict(r), "verdict_id": r.verdict.value,
        "verdict_proven": r.verdict_proven, "not_proven": [n.value for n in r.not_proven],
        "unattributed": r.unattributed,
        "lost_track": _lost_track(r),
        "arg3_below_page": r.arg3_below_page, "fault_sp": hex_or_none(r.fault_sp),
        "start_area": r.start_area, "thread_segment": r.thread_segment,
        "frames_from": r.frames_from.value,
        "high_water": None if r.high_water is None else _high_water(r.high_water),
        "committed_limit": hex_or_none(r.committed_limit),
        "heavy_threshold": r.heavy_threshold,
        "frames": [] if "frames" in leave_out else [frame_dict(f) for f in r.frames],
        "segments": [_segment(r, s) for s in r.segments],
        "heaviest": list(r.heaviest), "heaviest_drivers": list(r.heaviest_drivers),
        "modules": [] if "modules" in leave_out else [
            {"module": m.module, "bytes": m.bytes, "frames": m.frames, "driver": m.driver,
             "share": None if m.share is None else round(m.share, 4)} for m in r.modules],
        "functions": [] if "functions" in leave_out else [
            {"function": x.function, "bytes": x.bytes, "count": x.count, "module": x.module,
             "driver": x.driver} for x in r.functions],
        "cycles": [{"call_sites": c.call_sites, "repeats": c.repeats,
                    "bytes_per_round": c.bytes_per_round, "first_frame": c.first_frame,
                    "last_frame": c.last_frame, "rounds_left": c.rounds_left,
                    "rounds_left_at_most": c.rounds_left_at_most,
                    "repeats_at_least": c.repeats_at_least} for c in r.cycles],
        "warnings": list(r.warnings),
    }


def _pick(cls, d: Dict[str, Any]) -> Dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}


def _load_frame(fd: Dict[str, Any]) -> Frame:
    fd = dict(fd)
    for k in ("sp", "ret", "ip", "trap_frame"):
        fd[k] = unhex(fd.get(k))
    fd.setdefault("call_site", "")
    quality = fd.get("symbol_quality")
    fd["symbol_quality"] = None if quality is None else SymbolQuality(quality)
    reason = fd.get("size_unknown_reason")
    fd["size_unknown_reason"] = None if reason is None else UnknownReason(reason)
    note = fd.get("size_note")
    fd["size_note"] = None if note is None else SizeNote(note)
    if fd.get("locals") is not None:
        fd["locals"] = [Local(**dict(_pick(Local, x), address=unhex(x.get("address"))))
                        for x in fd["locals"]]
    if fd.get("layout") is not None:
        fd["layout"] = FrameLayout(**_pick(FrameLayout, fd["layout"]))
    return Frame(**_pick(Frame, fd))


def _load_high_water(d: Optional[Dict[str, Any]]) -> Optional[HighWater]:
    if d is None:
        return None
    return HighWater(address=unhex(d.get("address")), used=d.get("used"),
                     remaining=d.get("remaining"), unreadable_pages=d.get("unreadable_pages", 0),
                     pages_read=d.get("pages_read"), page_granular=bool(d.get("page_granular")),
                     origin=d.get("from"))


def load_stack(d: Dict[str, Any]) -> StackReport:
    sd = dict(d)
    for k in ("thread", "process", "stack_base", "stack_limit", "committed_limit",
              "exception_code", "fault_sp"):
        sd[k] = unhex(sd.get(k))
    sd["guard_overflow"] = bool(d.get("overflow")) and (
        sd["exception_code"] == K.STATUS_STACK_OVERFLOW or d.get("guard_left") is not None)
    bc = sd.get("bugcheck")
    sd["bugcheck"] = None if not bc else Bugcheck(code=unhex(bc["code"]),
                                                  args=[unhex(a) for a in bc["args"]])
    sd["frames"] = [_load_frame(fd) for fd in d.get("frames", [])]
    sd["segments"] = [Segment(**dict(_pick(Segment, s), kind=SegmentKind(s["kind"]),
                                     low=unhex(s.get("low")), high=unhex(s.get("high")),
                                     top=unhex(s.get("top")), verdict=None if not s.get(
                                         "verdict_id") else VerdictKind(s["verdict_id"])))
                      for s in d.get("segments", [])]
    sd["modules"] = [ModuleTotal(**_pick(ModuleTotal, m)) for m in d.get("modules", [])]
    sd["functions"] = [FunctionTotal(**_pick(FunctionTotal, x)) for x in d.get("functions", [])]
    sd["cycles"] = [Cycle(**_pick(Cycle, c)) for c in d.get("cycles", [])]
    sd["budget_origin"] = None if not d.get("budget_origin") else Origin(d["budget_origin"])
    sd["frames_from"] = FramesFrom(d.get("frames_from") or "stack-walk")
    sd["high_water"] = _load_high_water(d.get("high_water"))
    sd["not_proven"] = [NotProven(x) for x in d.get("not_proven") or []]
    lt = d.get("lost_track")
    sd["lost_track"] = None if not lt else LostTrack(**dict(
        _pick(LostTrack, lt), ip=unhex(lt.get("ip")),
        cause=LostCause(lt.get("cause") or LostCause.NO_UNWIND.value),
        gap=None if not lt.get("gap") else GapKind(lt["gap"])))
    vid = d.get("verdict_id")
    sd["verdict"] = VerdictKind(vid) if vid else (
        VerdictKind.OVERFLOW if d.get("overflow") else VerdictKind.OK)
    return StackReport(**_pick(StackReport, sd))


def load(text: str, where: str = "<json>") -> List[StackReport]:
    """Read a document written by the JSON renderer back into reports (to render it again)."""
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("tool") != "stackext":
            raise ValueError("not a stackext JSON document")
        return [load_stack(s) for s in doc["stacks"]]
    except (ValueError, KeyError, TypeError) as e:
        raise StackextError("cannot read stackext JSON: %s" % e, where) from None


def document_head() -> str:
    return '{\n  "tool": "stackext",\n  "version": %s,\n  "stacks": [' % json.dumps(__version__)
