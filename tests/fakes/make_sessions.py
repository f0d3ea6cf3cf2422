"""Build fixtures/sessions/*.json (recorded sessions for the fake pykd) from real WinDbg text.

Run: python3 tests/fakes/make_sessions.py. Child-SP/ChildEBP, return addresses and symbols are
copied exactly as WinDbg printed them; whatever a log cannot show (frame 0's ip, x64 frame
offsets, x86 ESPs, module ranges, company names, synthetic thread addresses) is made up and listed
under "synthesized" in each session. Does not use stackext's own log reader.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
OUT = FIXTURES / "sessions"

MICROSOFT = {"nt", "hal", "storport", "CLASSPNP", "ntdll", "Ntfs", "FLTMGR", "dxgkrnl", "dxgmms2",
             "fileinfo"}
VENDORS = {"ql2300": "QLogic Corporation", "amdkmdag": "Advanced Micro Devices, Inc.",
           "K7Sentry": "K7 Computing Pvt Ltd"}
# rosempio has no version resource (queryVersion raises)
EXPORT_ONLY = {"rosempio"}  # rosempio!DsmWriteEvent+0x3e3f3: export symbols only
REAL = ROOT / "tests" / "realengine" / "recorded"

# `!thread` / STACK_TEXT rows, x64:
# fffff88002174770 fffff80001cefa4b : 0000000000000000 ... : nt!KiBugCheckDispatch+0x69
# ffffa083`e1e3ea40 fffff806`7885342e     : 00000000`00000000 ... : nt!KeStallExecutionProcessor+0x27 [minkernel\hals\lib\timers\common\timer.c @ 971]  # noqa: E501
# (Inline Function) --------`--------     : --------`-------- ... : dxgkrnl!DXGADAPTER::DdiCollectDbgInfo+0x15 (Inline Function @ fffff806`249a00a7) [...]  # noqa: E501
ROW_ARGS = re.compile(r"^\s*(?P<sp>[0-9a-f`]{8,17}|\(Inline Function\))\s+(?P<ret>[0-9a-f`-]{8,17})"
                      r"\s*:(?P<args>[^:]*):\s*(?P<site>.+?)\s*$")
# kb, x86: a72aba14 82a39d9d 84d43630 87799b50 87799b50 K7Sentry+0x78b6
ROW_KB86 = re.compile(r"^(?P<sp>[0-9a-f]{8}) (?P<ret>[0-9a-f]{8})(?: [0-9a-f]{8}){3} "
                      r"(?P<site>\S.*?)\s*$")
# kn, x64: 01 00000000`0015ef10 00000000`77711a17 ntdll!LdrpInitializeProcess+0x1b4f
ROW_KN = re.compile(r"^[0-9a-f]{2,} (?P<sp>[0-9a-f`]{17}) (?P<ret>[0-9a-f`]{17}) (?P<site>.+?)\s*$")
# nt!KiDoubleFaultAbort+0x28b (TrapFrame @ fffff880021748b0)
TRAP = re.compile(r"\s*\(TrapFrame @ (?P<a>[0-9a-f`]+)\)")
INLINE_AT = re.compile(r"\s*\(Inline Function @ (?P<a>[0-9a-f`]+)\)")
SOURCE = re.compile(r"\s*\[[^\]]* @ \d+\]\s*$")
# ql2300+0x69416 / nt!KeBugCheckEx / CLASSPNP! ?? ::FNODOBFM::string'+0x4bb3 / 0x76e170d4
SITE = re.compile(r"^(?P<name>.*?)(?:\+0x(?P<disp>[0-9a-f]+))?$")


def num(text):
    return int(text.replace("`", ""), 16)


def parse_site(site):
    if re.match(r"^0x[0-9a-f`]+$", site):
        return [None, None, hex(num(site[2:]))]
    m = SITE.match(site)
    name, disp = m.group("name"), int(m.group("disp") or "0", 16)
    mod, _, func = name.partition("!")
    return [mod, func if _ else None, hex(disp)]


def parse_rows(path, regex, stop_at_blank=False):
    rows = []
    started = False
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = regex.match(line)
        if not m:
            if stop_at_blank and started and not line.strip():
                break
            continue
        started = True
        site = SOURCE.sub("", m.group("site"))
        trap = TRAP.search(site)
        inl = INLINE_AT.search(site)
        site = INLINE_AT.sub("", TRAP.sub("", site)).rstrip()
        inline = m.group("sp").startswith("(")
        rows.append({"line": lineno, "text": line.rstrip(), "site": site, "inline": inline,
                     "sp": None if inline else num(m.group("sp")),
                     "ret": None if inline else num(m.group("ret")),
                     "inline_at": num(inl.group("a")) if inl else None,
                     "trap": num(trap.group("a")) if trap else None})
    return rows


def build_frames(rows, arch, current_sp):
    frames, prev_ret, prev_phys, synthesized = [], None, None, []
    for r in rows:
        sym = parse_site(r["site"])
        ip = r["inline_at"] if r["inline"] else prev_ret
        if ip is None:  # frame 0: no log line shows it
            ip = None
            synthesized.append("frames[0].ip")
        f = {"line": r["line"], "windbg": r["text"].strip(), "symbol": sym, "inline": r["inline"],
             "ip": ip, "ret": r["ret"]}
        if r["inline"]:
            f["sp"] = f["fp"] = None  # filled below from the physical frame that holds it
        elif arch == "x86":
            f["fp"] = r["sp"]  # ChildEBP
            f["sp"] = prev_phys["fp"] + 8 if prev_phys else current_sp
        else:
            f["sp"] = r["sp"]  # Child-SP
            f["fp"] = None
        if r["trap"]:
            f["trap_frame"] = r["trap"]
        frames.append(f)
        if not r["inline"]:
            prev_ret, prev_phys = r["ret"], f
    if arch == "x86":
        synthesized.append("x86 stackOffset (ESP): caller's ChildEBP + 8; frame 0: the current ESP")
    else:
        synthesized.append("x64 frameOffset: the next physical frame's Child-SP - 0x10 (the "
                           "pattern the real engine showed)")
    phys = [f for f in frames if not f["inline"]]
    if arch != "x86":
        for a, b in zip(phys, phys[1:] + [None]):
            a["fp"] = b["sp"] - 0x10 if b else a["sp"] + 0x30
    for i, f in enumerate(frames):
        if f["inline"]:  # dbgeng gives an inline frame the offsets of the frame it sits in
            holder = next(g for g in frames[i:] if not g["inline"])
            f["sp"], f["fp"], f["ret"] = holder["sp"], holder["fp"], holder["ret"]
    if any(f["inline"] for f in frames):
        synthesized.append("inline frames' offsets: those of the physical frame holding them")
    return frames, synthesized


def place_modules(frames, kernel):
    by_mod = {}
    for f in frames:
        mod, func, disp = f["symbol"]
        if mod is not None and f["ip"] is not None:
            by_mod.setdefault(mod, []).append((f["ip"], func, int(disp, 16)))
    for f in frames:  # frame 0's ip: just below the lowest known address of its module
        if f["ip"] is None:
            mod, func, disp = f["symbol"]
            known = by_mod.get(mod)
            f["ip"] = (min(k[0] for k in known) & ~0xF) - 0x400 if known else 0x10000
            by_mod.setdefault(mod, []).append((f["ip"], func, int(disp, 16)))
    modules = []
    for mod, ips in sorted(by_mod.items(), key=lambda kv: min(k[0] for k in kv[1])):
        nosym = [ip - d for ip, func, d in ips if func is None]
        begin = nosym[0] if nosym else (min(k[0] for k in ips) & ~0xFFF) - 0x1000
        end = (max(k[0] for k in ips) | 0xFFF) + 1
        company = "Microsoft Corporation" if mod in MICROSOFT else VENDORS.get(mod)
        symfile = "" if nosym else ("export symbols" if mod in EXPORT_ONLY else mod + ".pdb")
        ext = ".exe" if mod == "nt" else (".dll" if not kernel or mod == "hal" else ".sys")
        image = {"nt": "ntoskrnl.exe", "hal": "hal.dll"}.get(mod, mod + ext)
        modules.append({"name": mod, "image": image, "begin": hex(begin), "end": hex(end),
                        "company": company, "symfile": symfile})
    for a, b in zip(modules, modules[1:]):
        assert int(a["end"], 16) <= int(b["begin"], 16), (a, b)
    return modules


def hexify(frames):
    for f in frames:
        for k in ("ip", "ret", "sp", "fp", "trap_frame"):
            if f.get(k) is not None:
                f[k] = hex(f[k])
    return frames


def session(name, fixture, regex, arch, kernel, thread, extra, stop_at_blank=False,
            keep=None, current_sp_delta=0x10):
    path = FIXTURES / fixture
    source = path.read_text(encoding="utf-8").splitlines()[0]
    rows = parse_rows(path, regex, stop_at_blank)
    if keep:
        rows = rows[:keep]
    current_sp = rows[0]["sp"] - current_sp_delta if arch == "x86" else rows[0]["sp"]
    frames, synthesized = build_frames(rows, arch, current_sp)
    modules = place_modules(frames, kernel)
    spn, ipn, fpn = {"x86": ("esp", "eip", "ebp"), "x64": ("rsp", "rip", "rbp")}[arch]
    regs = {spn: hex(current_sp), ipn: hex(frames[0]["ip"]),
            fpn: hex(frames[0]["fp"] or frames[0]["sp"])}
    s = {"name": name, "fixture": "fixtures/" + fixture, "source": source,
         "cpu": {"x86": "I386", "x64": "AMD64"}[arch], "kernel": kernel, "dump": True,
         "symbols": ["nt" if kernel else "ntdll"], "implicit_thread": thread,
         "bugcheck": None, "modules": modules,
         "threads": [{"address": thread, "regs": regs, "frames": hexify(frames)}],
         "types": {}, "synthesized": synthesized + ["module ranges and company names"]}
    s.update(extra)
    s["threads"][0]["process"] = s.get("implicit_process")
    return s


def _value(rec):
    return None if rec is None or "value" not in rec else rec["value"]


def from_recording(name):
    """A session from the real engine's recording (tests/realengine/recorded/NAME.json):
    frames, symbols, modules, TEB words exactly as pykd returned them."""
    path = REAL / (name + ".json")
    if not path.exists():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    rec = doc["records"]
    lm = _value(rec.get("dbgCommand(lm)")) or ""
    frames, modules = [], {}
    for raw in rec["getStack(True).frames"]:
        v = {k: _value(x) if isinstance(x, dict) else x for k, x in raw.items()}
        inline = bool(v["isInline"])
        if inline:
            mod, func, disp = v["frame.findSymbol()"]
        else:
            text = v["findSymbol(ip)"]
            m = re.match(r"^(.*?)(?:([+-])([0-9a-f]+))?$", text)
            mod, _, func = m.group(1).partition("!")
            disp = int(m.group(3) or "0", 16) * (-1 if m.group(2) == "-" else 1)
        frames.append({"symbol": [mod, func or None, ("-" if disp < 0 else "") + hex(abs(disp))],
                       "inline": inline, "ip": hex(v["instructionOffset"]),
                       "ret": hex(v["returnOffset"]), "fp": hex(v["frameOffset"]),
                       "sp": hex(v["stackOffset"]), "findSymbol": v["findSymbol(ip)"]})
        m = raw.get("module") or {}
        if m:
            mname = _value(m["name"])
            line = next((x for x in lm.splitlines() if re.search(r"\s%s\s" % mname, x)), "")
            modules[mname] = {"name": mname, "image": _value(m["image"]),
                              "begin": hex(_value(m["begin"])), "end": hex(_value(m["end"])),
                              "company": None,
                              "symfile": "export symbols" if "(export symbols)" in line
                              else mname + ".pdb"}
    notes_path = REAL / (name + "_frames.json")
    notes = json.loads(notes_path.read_text(encoding="utf-8")) if notes_path.exists() else {}
    for f, n in zip(frames, notes.get("frames", [])):
        if n.get("fnent"):
            f["fnent"] = n["fnent"]
        # recorded as `.frame N; dv /V /t`: the fake prints the `.frame` row itself
        dv = "".join((n.get("dv") or "").splitlines(True)[1:])
        if dv:
            f["dv"] = dv
    teb = _value(rec["global.getImplicitThread"])
    memory = {}
    tib = _value(rec.get("loadQWords(teb, 3) [ExceptionList, StackBase, StackLimit]"))
    if tib:
        memory.update({hex(teb + 8 * i): hex(x) for i, x in enumerate(tib)})
    dealloc = _value(rec.get("loadQWords(teb+0x1478, 1) [DeallocationStack]"))
    if dealloc:
        memory[hex(teb + 0x1478)] = hex(dealloc[0])
    thread = hex(teb)
    # `~` on the real engine: ".  0  Id: 20.24 Suspend: 0 Teb: 00000000`67fe0000 Unfrozen"
    ids = re.search(r"Id: ([0-9a-f]+)\.([0-9a-f]+) Suspend: \d+ Teb: %s" % re.escape(
        "%08x`%08x" % (teb >> 32, teb & 0xFFFFFFFF)), notes.get("threads") or "")
    proc = _value(rec["global.getImplicitProcess"])  # raises on some minidumps: recorded as None
    proc = hex(proc) if isinstance(proc, int) else None
    return {"name": "real_%s_user_x64" % name, "fixture": str(path.relative_to(ROOT)),
            "source": doc["_source"], "cpu": "AMD64", "kernel": False, "dump": True,
            "symbols": [], "implicit_thread": thread,
            "implicit_process": proc,
            "bugcheck": None,
            "modules": sorted(modules.values(), key=lambda m: int(m["begin"], 16)),
            "memory": memory,
            # the stack's pages as the real engine read them (record_notes.py): loadBytes
            "pages": notes.get("stack_pages", {}),
            "threads": [{"address": thread, "process": proc,
                         "pid": int(ids.group(1), 16) if ids else 0x20,
                         "tid": int(ids.group(2), 16) if ids else 0x24,
                         "regs": {"rsp": hex(_value(rec["global.getSP"])),
                                  "rip": hex(_value(rec["global.getIP"])),
                                  "rbp": hex(_value(rec["global.getFP"]))},
                         "frames": frames}],
            "types": {}, "synthesized": [],
            "type_sizes": {k: v for k, v in notes.get("type_sizes", {}).items() if v},
            "commands": {cmd: _value(rec.get("dbgCommand(%s)" % cmd))
                         for cmd in ("knf", "kv", ".reload")
                         if _value(rec.get("dbgCommand(%s)" % cmd))},
            "notes": "recorded from the real engine (pykd 0.3.4.15 + dbgeng under Wine): "
                     "ntdll has export symbols only, so typedVar(ntdll!_TEB) raises and the "
                     "TEB is read as raw pointers"}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    t005 = "0xfffffab0f950db50"
    kthread005 = {t005: {"StackBase": "0xfffff8800b9c7000", "StackLimit": "0xfffff8800b9c1000",
                         "InitialStack": "0xfffff8800b9c6c70", "KernelStack": "0xfffff8800b9c1a50"}}
    trap005 = {"0xfffff880021748b0": {"Rsp": "0xfffff8800b9c0f10", "Rip": "0xfffff88001482416"}}
    extra005 = {"implicit_process": "0xfffffab0205a5b00",
                "bugcheck": ["0x7f", "0x8", "0x80050033", "0x406f8", "0xfffff88001482416"],
                "types": {"nt!_KTHREAD": kthread005, "nt!_KTRAP_FRAME": trap005},
                "notes": "!thread Base/Limit/Init/Current from the fixture; bugcheck Arg4 from "
                         "fixture 004 (same crash); trap frame Rsp/Rip from the fixture's .trap"}
    t102 = "0xffff800ba6b11500"
    sessions = [
        session("005_doublefault_x64", "005_ql2300_0x7f8_thread_base_limit_x64.txt", ROW_ARGS,
                "x64", True, t005, extra005),
        session("005_doublefault_ist_only_x64", "005_ql2300_0x7f8_thread_base_limit_x64.txt",
                ROW_ARGS, "x64", True, t005, dict(extra005, notes=extra005["notes"] + "; only "
                "the rows up to KiDoubleFaultAbort: what a walk that cannot cross the trap "
                "frame returns"), keep=3),
        session("102_vidschworker_x64",
                "102_jellykuo_0x19c_vidschiworker_thread_base_limit_x64.txt", ROW_ARGS, "x64",
                True, t102, {
                    "implicit_process": "0xffff800b89fa9040", "bugcheck": ["0x19c", "0x50",
                    "0xffff800ba6b11500", "0x0", "0x0"],
                    "types": {"nt!_KTHREAD": {t102: {
                        "StackBase": "0xffffa083e1e40000", "StackLimit": "0xffffa083e1e39000",
                        "InitialStack": "0xffffa083e1e3f5f0",
                        "KernelStack": "0xffffa083e1e3e270"}}},
                    "notes": "!thread Base/Limit/Init/Current from the fixture; bugcheck args "
                             "synthesized from the blog's title (0x19c, 0x50)"}),
        session("022_k7sentry_x86", "022_k7sentry_kb_x86_kernel.txt", ROW_KB86, "x86", True,
                "0x87f11b78", {"implicit_process": "0x84d43630",
                               "notes": "no !thread in the log: the KTHREAD cannot be read "
                                        "(MemoryException); thread/process addresses synthesized"}),
        session("013_ldrp_user_x64", "013_ldrpdodebuggerbreak_kn_kf_x64_user.txt", ROW_KN, "x64",
                False, "0x7fffffde000", {
                    "implicit_process": "0x7fffffdf000", "minidump": True,
                    "types": {"ntdll!_TEB": {"0x7fffffde000": {
                        "NtTib": {"StackBase": "0x160000", "StackLimit": "0x15c000"},
                        "DeallocationStack": "0x60000"}}},
                    "notes": "user-mode minidump: queryVersion raises for every module; TEB "
                             "address and bounds synthesized (1 MB reserve, 16 KB committed)"},
                stop_at_blank=True),
    ]
    # `.trap` to KiDoubleFaultAbort's trap frame on the IST-only walk: the thread stack (the full
    # session's frames after the handler) with the trap frame's Rsp/Rip as the registers
    full, ist = sessions[0], sessions[1]
    thread_frames = full["threads"][0]["frames"][3:]
    ist["modules"] = full["modules"]
    ist["contexts"] = {"0xfffff880021748b0": {
        "command": ".trap", "frames": thread_frames,
        "regs": {"rsp": trap005["0xfffff880021748b0"]["Rsp"],
                 "rip": trap005["0xfffff880021748b0"]["Rip"], "rbp": thread_frames[0]["fp"]}}}
    for name in ("seed", "inline", "seed_mini"):
        rec = from_recording(name)
        if rec is not None:
            sessions.append(rec)
    for s in sessions:
        if s.get("minidump"):
            for m in s["modules"]:
                m["company"] = None
        path = OUT / (s["name"] + ".json")
        path.write_text(json.dumps(s, indent=1) + "\n", encoding="utf-8")
        print("%s: %d frames" % (path.relative_to(ROOT), len(s["threads"][0]["frames"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
