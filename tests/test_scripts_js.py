"""scripts/stackext.js (the .scriptload bridge to !py) under node's test runner with a fake
`host`; skipped where node is not installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_stackext_js_under_node():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    test_file = ROOT / "tests" / "js" / "stackext_js.test.js"
    proc = subprocess.run([node, "--test", str(test_file)], cwd=str(ROOT),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
