"""The real-engine lane's gate, in one place: every test marked `realengine` skips with the
reason when the lane is not set up (Wine, the Windows Python, pykd, the dumps) — unless
STACKEXT_REQUIRE_REALENGINE=1 (CI sets it), where an unavailable lane is a failure.
STACKEXT_REALENGINE_SETUP=1 lets the tests run setup.sh themselves (it may call apt-get).
"""

import importlib.util
import os
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))


def load_engine():
    name = "stackext_realengine_engine"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, os.path.join(_HERE, "engine.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def lane_status():
    engine = load_engine()
    if os.environ.get("STACKEXT_REALENGINE_SETUP") == "1":
        return engine.ensure_setup()
    return engine.available()


def require_engine():
    ok, why = lane_status()
    if ok:
        return
    message = "real engine lane unavailable: %s" % why
    if os.environ.get("STACKEXT_REQUIRE_REALENGINE") == "1":
        pytest.fail(message + " (STACKEXT_REQUIRE_REALENGINE=1: the lane must run here)",
                    pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def realengine():
    """The engine helper module (engine.py), after the gate; module-scoped fixtures that run
    the engine depend on this."""
    require_engine()
    return load_engine()


@pytest.fixture(autouse=True)
def _realengine_gate(request):
    if request.node.get_closest_marker("realengine") is not None:
        request.getfixturevalue("realengine")
