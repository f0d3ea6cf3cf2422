"""`--calls FILE`: what the team knows and the binary cannot say, as JSON (Python 3.8 has no
tomllib; JSON needs no extra package):

    {"indirect":  {"call_driver": ["dispatch_read", "dispatch_write"]},
     "recursion": {"walk_tree": 4},
     "external":  {"kernel32!WaitForSingleObject": 1024, "IoCallDriver": 4096, "*": 2048},
     "dynamic":   {"format_name": 512}}

`indirect`: the functions a function's indirect calls can reach (all of its indirect call sites);
`recursion`: how many times a recursive function (or its cycle) is entered at most;
`external`: the stack an import uses below the call (`dll!name`, bare `name`, or `*` for any);
`dynamic`: the most a dynamic frame allocates at run time beyond its fixed frame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from stackext.errors import StackextError

KEYS = ("indirect", "recursion", "external", "dynamic")


@dataclass
class Calls:
    indirect: Dict[str, List[str]] = field(default_factory=dict)
    recursion: Dict[str, int] = field(default_factory=dict)
    external: Dict[str, int] = field(default_factory=dict)
    dynamic: Dict[str, int] = field(default_factory=dict)

    def external_cost(self, import_name: str) -> Optional[int]:
        bare = import_name.split("!", 1)[-1]
        for key in (import_name, bare, "*"):
            if key in self.external:
                return self.external[key]
        return None


def _sizes(doc: dict, key: str, where: str) -> Dict[str, int]:
    table = doc.get(key, {})
    if not isinstance(table, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in table.values()):
        raise StackextError('"%s" must map names to non-negative integers' % key, where)
    return dict(table)


def load(path: str) -> Calls:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise StackextError("cannot read: %s" % (e.strerror or e), path) from None
    except ValueError as e:
        line = getattr(e, "lineno", None)
        raise StackextError("not JSON: %s" % e, "%s:%s" % (path, line) if line else path) \
            from None
    if not isinstance(doc, dict) or set(doc) - set(KEYS):
        raise StackextError("expected an object with keys %s" % ", ".join(KEYS), path)
    indirect = doc.get("indirect", {})
    if not isinstance(indirect, dict) or not all(
            isinstance(v, list) and all(isinstance(n, str) for n in v)
            for v in indirect.values()):
        raise StackextError('"indirect" must map names to lists of names', path)
    return Calls(indirect=dict(indirect), recursion=_sizes(doc, "recursion", path),
                 external=_sizes(doc, "external", path), dynamic=_sizes(doc, "dynamic", path))
