"""Everything stackext prints inside the debugger is plain ASCII: kd logs are written in the
console's code page, where an em dash arrives as byte 0x97. Only the HTML page (a UTF-8 file)
may use other characters."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "stackext"
UTF8_OUTPUT = ("render/html", "lab")  # modules that write UTF-8 files, not debugger text



def _strings(tree: ast.AST):
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node


def test_every_printed_string_is_ascii():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(UTF8_OUTPUT):
            continue
        for node in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            # the input cleaner's BOM, no-break space and middle dot are read, never printed
            if not node.value.strip("\ufeff\xa0\xb7").isascii():
                bad.append("%s:%d: %r" % (rel, node.lineno, node.value[:40]))
    assert not bad, bad
