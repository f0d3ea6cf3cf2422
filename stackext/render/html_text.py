"""Words and numbers for the HTML pages, from a stack's JSON dict: the one escaping helper, and
what a frame's details say (its call site, size, depth, module, largest locals, layout).
"""

from __future__ import annotations

import html
import re
from typing import Any, Dict, List, Optional

from stackext import knowledge as K
from stackext.addresses import fmt_addr
from stackext.model import SizeNote, UnknownReason

# C0 controls other than tab and newline, and DEL: not allowed in an HTML document
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def esc(value: Any) -> str:
    """Text and attribute values from the target (C++ templates `<>`, `&`, quotes, crafted
    names): escaped, control characters dropped, and non-ASCII as character references, so the
    page is ASCII whatever the console's encoding."""
    text = html.escape(_CONTROL.sub("", str(value)), quote=True)
    return text.encode("ascii", "xmlcharrefreplace").decode("ascii")


def ascii_html(markup: str) -> str:
    """Markup with every non-ASCII character as a character reference (not for <script> or
    <style> text, where references are not decoded: those stay ASCII by hand)."""
    return markup.encode("ascii", "xmlcharrefreplace").decode("ascii")


def num(value: Any) -> Optional[int]:
    """An address or size from the JSON dict: hex strings and ints; None stays None."""
    if value is None:
        return None
    return int(value, 16) if isinstance(value, str) else int(value)


def n(value: Optional[int]) -> str:
    return "?" if value is None else "{:,}".format(value)


def addr(value: Optional[int], d: Dict[str, Any]) -> str:
    return fmt_addr(value, K.ptr64(d.get("arch") or "x64"))


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def stack_id(d: Dict[str, Any]) -> str:
    return "s%d" % d.get("_position", 0)


def frame_id(d: Dict[str, Any], f: Dict[str, Any], kind: str = "f") -> str:
    """Anchors: `s3f0b` is stack 3's table row for frame 0x0b, `s3b0b` its block."""
    return "%s%s%02x" % (stack_id(d), kind, f["index"])


def depth(d: Dict[str, Any], f: Dict[str, Any]) -> Optional[int]:
    base, sp = num(d.get("stack_base")), num(f.get("sp"))
    if base is None or sp is None or f.get("segment") != d.get("thread_segment"):
        return None
    return base - sp


PLAIN_VERDICTS = ("", "ok", "budget unknown")


def kind_of(d: Dict[str, Any]) -> str:
    """overflow | near (at least 90 % of the budget) | ok | unknown (no budget to judge by)."""
    if d.get("overflow"):
        return "overflow"
    pct = d.get("percent")
    if pct is None:
        return "unknown"
    return "near" if pct >= 90 else "ok"


def headline(d: Dict[str, Any]) -> str:
    kind = kind_of(d)
    if kind == "unknown" and d.get("verdict") and d.get("verdict_id") not in (
            None, "budget-unknown"):
        return d["verdict"]  # a double fault, no frame on the thread's stack, an invalid SP
    word = {"overflow": "OVERFLOW", "near": "CLOSE TO THE LIMIT", "ok": "OK",
            "unknown": "NO BUDGET"}[kind]
    return word + verdict_tail(d)


def verdict_tail(d: Dict[str, Any]) -> str:
    """": the verdict", unless it only repeats the word before it ("ok", "budget unknown")."""
    verdict = d.get("verdict") or ""
    return "" if verdict in PLAIN_VERDICTS else ": " + verdict


def used_text(d: Dict[str, Any]) -> str:
    used, budget, pct = d.get("used"), d.get("budget"), d.get("percent")
    text = "%s%s bytes used" % ("at least " if d.get("used_is_lower_bound") else "", n(used))
    if budget is not None:
        text += " of %s (%s)" % (n(budget), "?" if pct is None else "%.0f%%" % pct)
    rem = d.get("remaining")
    if rem is not None and rem < 0:
        text += ", %s bytes past StackLimit" % n(-rem)
    elif rem is not None:
        text += ", %s%s bytes left" % ("at most " if d.get("remaining_is_upper_bound") else "",
                                       n(rem))
    return text


def marks(f: Dict[str, Any]) -> List[str]:
    out = []
    if f.get("inline"):
        out.append("inline")
    if f.get("heavy"):
        out.append("HEAVY")
    if f.get("driver"):
        out.append("driver")
    reason = f.get("size_unknown_reason")
    if f.get("size") is None and reason:
        known = reason in {r.value for r in UnknownReason}
        out.append("? " + (UnknownReason(reason).short if known else reason))
    note = f.get("size_note")
    if f.get("size") is not None and note:
        out.append(SizeNote(note).short if note in {x.value for x in SizeNote} else note)
    if f.get("estimated"):
        out.append("estimated")
    return out


def locals_lines(f: Dict[str, Any], shown: int = 3) -> List[str]:
    out = []
    for loc in (f.get("locals") or [])[:shown]:
        size = loc.get("size")
        out.append("local %s (%s): %s%s bytes at %s" % (
            loc.get("name"), loc.get("type"), "~" if loc.get("size_estimated") else "",
            n(size), loc.get("offset")))
    lay = f.get("layout")
    if lay:
        parts = ["%s fixed" % n(lay.get("fixed")), "%s pushed (%s registers)"
                 % (n(lay.get("pushes")), lay.get("push_count")), "return address"]
        if lay.get("dynamic"):
            parts.append("%s dynamic%s" % (n(lay["dynamic"]), " (_alloca or a frame pointer)"
                                            if lay.get("is_dynamic") else ""))
        out.append("layout: " + " + ".join(parts))
    return out


def frame_title(d: Dict[str, Any], f: Dict[str, Any], inline: List[Dict[str, Any]]) -> str:
    """Everything known about a frame, one fact a line (an SVG <title>, the details panel)."""
    size = f.get("size")
    lines = ["#%02x %s" % (f["index"], f.get("call_site") or "?")]
    if size is None:
        lines.append("size unknown: %s" % (f.get("size_unknown_reason") or "not known"))
    else:
        lines.append("size %s bytes (0x%x)%s" % (n(size), size,
                                                 ", estimated" if f.get("estimated") else ""))
        if f.get("size_note_label"):
            lines.append(f["size_note_label"])
    dep = depth(d, f)
    if dep is not None:
        lines.append("depth %s bytes below StackBase" % n(dep))
    who = "third-party driver" if f.get("driver") else "Windows (inbox) module"
    lines.append("module %s, %s" % (f.get("module") or "?", who))
    seg = [s for s in d.get("segments") or [] if s["index"] == f.get("segment")]
    if seg:
        lines.append("segment #%d %s" % (seg[0]["index"], seg[0]["kind"]))
    if f.get("heavy"):
        lines.append("HEAVY: %s bytes or more" % n(d.get("heavy_threshold")))
    if f.get("source_file"):
        lines.append("source %s:%s" % (f["source_file"], f.get("source_line")))
    lines.extend(locals_lines(f))
    lines.extend("inline here: %s" % x.get("call_site") for x in inline)
    return "\n".join(lines)
