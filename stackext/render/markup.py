"""Markup escaping and DML pieces, in one place: every string that came from the target (symbol
names, image names, C++ templates) is escaped, so a crafted name cannot inject a command link.
DML uses XML's entities, as HTML does.
"""

from __future__ import annotations


def esc(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def link(cmd: str, text: str) -> str:
    """A DML command link; both the command and the text are escaped."""
    return '<link cmd="%s">%s</link>' % (esc(cmd), esc(text))


def col(fg: str, markup: str) -> str:
    """Colour already-escaped markup with one of WinDbg's colour names (errfg, warnfg, ...)."""
    return '<col fg="%s">%s</col>' % (fg, markup)
