"""Every package folder ships: a non-editable `pip install .` (the README's quick start) installs
only the packages pyproject.toml lists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed_in_pyproject():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    listed = set(re.findall(r'"(stackext(?:\.\w+)*)"', text.split("packages =", 1)[1]
                            .split("]", 1)[0]))
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "stackext").rglob("__init__.py")}
    assert found == listed
