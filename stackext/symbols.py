"""Call sites as debuggers write them: `module!function+0xoff`, `module+0xoff`, `0xADDR`.

One parser for the two text forms: WinDbg's printed call site (k rows, dps, a raw scan) and
the debugger engine's findSymbol text (no `0x` before the displacement, `-` when negative),
which becomes the WinDbg form. Pure; imports nothing from stackext.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional, Tuple

from stackext.addresses import parse_hex

# A raw code address as a call site: 0x77a670d4, 0x00007ff9`7909c1b4.
RAW_SITE_RE = re.compile(r"0x([0-9a-fA-F]{1,8}(?:`?[0-9a-fA-F]{8})?)$")
# The displacement at the end of a WinDbg symbol: nt!KiBugCheckDispatch+0x69, ql2300+0x69416
OFFSET_RE = re.compile(r"\+0x([0-9a-fA-F]{1,16})$")
# findSymbol forms seen on the real engine (no 0x before the displacement, `-` when negative):
#   deep3!big_frame+54     deep2+1684     12345     ntdll!NtWaitForMultipleObjects
#   seed!WinMainCRTStartup-102   (kf prints that one as +0xffffffff`fffffefe)
ENGINE_RE = re.compile(r"^(?P<name>.*?)(?:(?P<sign>[+-])(?P<disp>[0-9a-fA-F]+))?$")
# An address in the range of a module since unloaded: "<Unloaded_HookProcessOpen.sys>+0x1910"
# (its module is the driver's name, as !analyze's IMAGE_NAME says: HookProcessOpen.sys)
UNLOADED_RE = re.compile(r"<Unloaded_(.+?)(?:\.[A-Za-z0-9]{1,4})?>\Z")
# findSymbol's answer where no module is loaded: the address alone, "12345"
BARE_HEX_RE = re.compile(r"^[0-9a-fA-F]+$")


class Symbol(NamedTuple):
    """A call site's parts; `ip` only for a raw `0xADDR` site."""

    module: Optional[str]
    function: Optional[str]
    offset: Optional[int]
    ip: Optional[int]


NO_SYMBOL = Symbol(None, None, None, None)


def split_call_site(site: str) -> Symbol:
    """The parts of a WinDbg call site: `module!function+0xoff`, `module+0xoff` or `0xADDR`."""
    m = RAW_SITE_RE.match(site)
    if m:
        return Symbol(None, None, None, parse_hex(m.group(1)))
    module, bang, function = site.partition("!")
    if not bang:
        m = OFFSET_RE.search(site)
        module = site[: m.start()] if m else ""
        unloaded = UNLOADED_RE.match(module) if module.startswith("<") else None
        module = unloaded.group(1) if unloaded else module
        return Symbol(module, None, None, None) if module and " " not in module else NO_SYMBOL
    module = module.strip()
    if not module or " " in module:
        return NO_SYMBOL
    function = function.strip()
    offset = 0
    m = OFFSET_RE.search(function)
    if m:
        offset = int(m.group(1), 16)
        function = function[: m.start()].rstrip()
    function = strip_params(function)
    return Symbol(module, function or None, offset if function else None, None)


def strip_params(function: str) -> str:
    """kp prints `foo(int a = 0n1, ...)`: drop such a list, but keep `operator()`."""
    if not function.endswith(")"):
        return function
    depth = 0
    for i in range(len(function) - 1, -1, -1):
        ch = function[i]
        if ch == ")":
            depth += 1
        elif ch == "(":
            depth -= 1
            if depth == 0:
                inner = function[i + 1: -1].strip()
                if inner in ("void", "<no parameter info>") or " = " in inner:
                    return function[:i].rstrip()
                return function
    return function


def without_params(site: str) -> str:
    """A kp/kP call site as k prints it: `mod!foo(int a = 0n1)+0x4a` is `mod!foo+0x4a` (the
    arguments' values say nothing of the stack, and hide the function in a narrow column)."""
    if ")" not in site:
        return site
    m = OFFSET_RE.search(site)
    head = site[: m.start()].rstrip() if m else site
    bare = strip_params(head)
    return site if bare == head else bare + (m.group(0) if m else "")


def parse_symbol(text: str) -> Tuple[str, Optional[str], Optional[str], Optional[int]]:
    """findSymbol text -> (WinDbg call site, module, function, offset)."""
    text = (text or "").strip()
    if BARE_HEX_RE.match(text):  # no module at that address
        return "0x" + text.lower(), None, None, None
    m = ENGINE_RE.match(text)
    name, disp = m.group("name"), m.group("disp")
    offset = int(disp, 16) if disp else 0
    if m.group("sign") == "-":
        offset = -offset
    module, bang, function = name.partition("!")
    site = name + ("+0x%x" % offset if offset > 0 else "-0x%x" % -offset if offset else "")
    return site, module, (function if bang else None), offset
