"""`@dataclass(slots=True)` for Python 3.8 and 3.9 (which lack it): the dataclass made again
with `__slots__` for its fields, as Python 3.10's own does. A frame of a big log so built is
smaller and faster to make and read than one with an instance dict (Python 3.13 makes a
dataclass's instance dict at 2.5 times the cost of its slots). Imports nothing of stackext.

A field may be read lazily: given its text (a str) it keeps the text and makes its value the
first time it is read (a big log's rows carry four argument words each, which nearly nothing
reads: parsing them cost a quarter of reading a row).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable, Dict, Optional


def slotted(cls: Optional[type] = None, *, lazy: Optional[Dict[str, Callable[[str], Any]]] = None):
    """The dataclass `cls` again, its fields in `__slots__` (no instance dict): the generated
    methods carry over, each field's default stays in the generated __init__. `lazy` maps a
    field to what makes its value from a str given for it (held in the slot `_<field>` until
    first read); a value of any other type is the value itself."""
    if cls is None:
        return lambda c: slotted(c, lazy=lazy)
    lazy = lazy or {}
    names = tuple(f.name for f in fields(cls))
    body = dict(cls.__dict__)
    for name in names:
        body.pop(name, None)  # a default as a class attribute would shadow the slot
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    body["__slots__"] = tuple("_" + n if n in lazy else n for n in names)
    made = type(cls)(cls.__name__, cls.__bases__, body)
    made.__qualname__ = cls.__qualname__
    for name, make in lazy.items():
        slot = made.__dict__["_" + name]
        setattr(made, name, property(_reader(slot.__get__, slot.__set__, make), slot.__set__))
    return made


def _reader(get, put, make):
    def value(self):
        v = get(self)
        if v.__class__ is str:
            v = make(v)
            put(self, v)
        return v
    return value
