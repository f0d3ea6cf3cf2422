"""`@dataclass(slots=True)` for Python 3.8 and 3.9 (which lack it): the dataclass made again
with `__slots__` for its fields, as Python 3.10's own does. A frame of a big log so built is
smaller and faster to make and read than one with an instance dict (Python 3.13 makes a
dataclass's instance dict at 2.5 times the cost of its slots). Imports nothing of stackext.
"""

from __future__ import annotations

from dataclasses import fields


def slotted(cls: type) -> type:
    """The dataclass `cls` again, its fields in `__slots__` (no instance dict): the generated
    methods carry over, each field's default stays in the generated __init__."""
    names = tuple(f.name for f in fields(cls))
    body = dict(cls.__dict__)
    for name in names:
        body.pop(name, None)  # a default as a class attribute would shadow the slot
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    body["__slots__"] = names
    made = type(cls)(cls.__name__, cls.__bases__, body)
    made.__qualname__ = cls.__qualname__
    return made
