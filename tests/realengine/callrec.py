"""A recording wrapper around a pykd module (the real one under Wine, or the fake): every call
stackext makes, with its arguments and what came back (value, or exception type + first line).

Runs under the Windows CPython 3.9 and on Linux; standard library only. Used by
test_stackext_real.py to prove that the fake answers every call the way the real engine does.

    log = []
    sys.modules["pykd"] = callrec.wrap(real_pykd, log)
"""

import re
import types

PLAIN = (int, str, float, bool, type(None))


def first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


# `.fnent` names the debugger's own heap copy of the entry, different in every run:
#   Debugger function entry 00000000`00333b60 for:
FNENT_HEAP = re.compile(r"^Debugger function entry [0-9a-f`]+ for:", re.M)


def clean_text(text):
    # The real engine's first visualizer-loading command gets these lines mixed in (FINDINGS.md).
    text = "".join(line for line in text.splitlines(True)
                   if not line.startswith("No .natvis files found"))
    return FNENT_HEAP.sub("Debugger function entry <heap> for:", text)


def show(value):
    """A JSON-able summary that is the same for equal answers of the real and the fake pykd."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, (list, tuple)):
        return [show(v) for v in value]
    return "<%s>" % type(value).__name__.lower().lstrip("_")


class _Object:
    """Proxy of a pykd object (stackFrame, module, typedVar, typeInfo): logs attribute reads and
    method calls as `<class>.<name>`."""

    def __init__(self, obj, log):
        self.__dict__["_obj"], self.__dict__["_log"] = obj, log

    def __getattr__(self, name):
        obj, log = self.__dict__["_obj"], self.__dict__["_log"]
        kind = type(obj).__name__.lower().lstrip("_")
        try:
            value = getattr(obj, name)
        except Exception as exc:
            log.append(["%s.%s" % (kind, name), [], "raise %s: %s" % (type(exc).__name__,
                                                                       first_line(exc))])
            raise
        if callable(value) and not isinstance(value, PLAIN):
            return _function("%s.%s" % (kind, name), value, log)
        log.append(["%s.%s" % (kind, name), [], show(value)])
        return _wrap_value(value, log)

    def __int__(self):
        return int(self.__dict__["_obj"])

    def __str__(self):
        return str(self.__dict__["_obj"])


def _wrap_value(value, log):
    if isinstance(value, PLAIN) or isinstance(value, type):
        return value
    if isinstance(value, list):
        return [_wrap_value(v, log) for v in value]
    if isinstance(value, tuple):
        return tuple(_wrap_value(v, log) for v in value)
    return _Object(value, log)


def _function(name, fn, log):
    def call(*args, **kwargs):
        entry = [name, [show(a) for a in args] + [show(v) for v in kwargs.values()], None]
        log.append(entry)
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:
            entry[2] = "raise %s: %s" % (type(exc).__name__, first_line(exc))
            raise
        entry[2] = show(value)
        return _wrap_value(value, log)
    call.__name__ = name
    return call


def wrap(pykd, log):
    """A module object that forwards to `pykd` and appends [name, args, outcome] to `log`."""
    m = types.ModuleType("pykd")
    for name in dir(pykd):
        if name.startswith("__"):
            continue
        value = getattr(pykd, name)
        # pykd's typedVar, typeInfo, module and stackFrame are classes called like functions:
        # log them too; exception classes and enums (CPUType) pass through unchanged.
        if callable(value) and not (isinstance(value, type) and (
                issubclass(value, BaseException) or name in ("CPUType",))):
            value = _function(name, value, log)
        setattr(m, name, value)
    return m


def run_entry(entry_main, argv, real):
    """Run an in-debugger entry's main(argv, debugger=...) on the real pykd, recording every
    pykd call and capturing what it prints. Returns (exit status, printed text, calls)."""
    import io
    import sys

    from stackext.sources.pykd.adapter import Debugger

    log = []
    buf, saved = io.StringIO(), sys.stdout
    sys.stdout = buf
    try:
        rc = entry_main(argv, debugger=Debugger(wrap(real, log)))
    finally:
        sys.stdout = saved
    return rc, buf.getvalue(), log
