"""A fake `pykd` for tests: pykd 0.3.4.15's names, return types and quirks over a recorded session.

`make_module(engine)` returns a module object to put on `sys.modules["pykd"]`; the engine records
every call so tests can count round trips and prove that state changes were undone and nothing was
written. Sessions come from `fixtures/sessions/*.json` (see `make_sessions.py`).
"""

from __future__ import annotations

from .engine import (  # noqa: F401
    CALL_KINDS,
    CallException,
    CPUType,
    DbgException,
    FakeEngine,
    MemoryException,
    SymbolException,
    TypeException,
    load_session,
    make_module,
    synthetic_session,
)


def install(monkeypatch, session, windbg_ext: bool = True) -> FakeEngine:
    """Put a fresh fake `pykd` over `session` (a name in fixtures/sessions or a dict) on
    sys.modules for one test; returns its engine."""
    import sys

    if isinstance(session, str):
        session = load_session(session)
    engine = FakeEngine(session, windbg_ext=windbg_ext)
    monkeypatch.setitem(sys.modules, "pykd", make_module(engine))
    return engine


def output_text(engine: FakeEngine) -> str:
    return "".join(text for text, _ in engine.output)
