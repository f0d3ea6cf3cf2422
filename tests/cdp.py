"""A small Chrome DevTools Protocol client over `--remote-debugging-pipe`, standard library only.

Why a pipe: no port to pick or leak, no websocket library, and the browser dies with its pipe.
Chromium reads commands from its fd 3 and writes answers and events to fd 4, each message JSON
ended by a NUL byte. A tiny exec shim puts our pipe ends on fds 3 and 4 (subprocess cannot place
fds at given numbers by itself).

Used by the browser tests (tests/test_html_browser.py) and bench/bench_html.py.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--hide-scrollbars", "--remote-debugging-pipe"]


def find_chromium() -> Optional[str]:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _high(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class CdpError(RuntimeError):
    pass


class Browser:
    """One headless Chromium with one page attached (flat session)."""

    def __init__(self, exe: str, width: int = 1280, height: int = 900, timeout: float = 30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="stackext-chromium-")
        child_in, self._out = os.pipe()
        self._in, child_out = os.pipe()
        # above the fds the shell places them on, so that `3<&N` never closes its own source
        child_in, child_out = (_high(fd) for fd in (child_in, child_out))
        # a Python exec shim: dash, Debian's sh, cannot redirect from fds above 9
        shim = ("import os, sys; os.dup2(%d, 3); os.dup2(%d, 4); os.close(%d); os.close(%d); "
                "os.execv(sys.argv[1], sys.argv[1:])" % (child_in, child_out, child_in, child_out))
        self.log = open(os.path.join(self.profile, "stderr.txt"), "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", shim, exe] + FLAGS + ["--user-data-dir=" + self.profile,
                                                         "--window-size=%d,%d" % (width, height)],
            pass_fds=(child_in, child_out), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.log)
        os.close(child_in)
        os.close(child_out)
        self._buf = b""
        self._id = 0
        self.events: List[Dict[str, Any]] = []
        self.session: Optional[str] = None
        target = self.call("Target.createTarget", {"url": "about:blank"}, browser=True)
        self.session = self.call("Target.attachToTarget", {"targetId": target["targetId"],
                                                           "flatten": True},
                                 browser=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable")
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1,
                                                         "mobile": False})

    # -- the protocol ---------------------------------------------------------------------------

    def _read(self, deadline: float) -> Dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise CdpError("no answer from Chromium in %.0f s" % self.timeout)
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise CdpError("Chromium closed its pipe (exit %s)" % self.proc.poll())
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg.decode("utf-8"))

    def call(self, method: str, params: Optional[Dict[str, Any]] = None,
             browser: bool = False) -> Dict[str, Any]:
        self._id += 1
        msg: Dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if self.session and not browser:
            msg["sessionId"] = self.session
        os.write(self._out, json.dumps(msg).encode("utf-8") + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise CdpError("%s: %s" % (method, answer["error"]))
                return answer.get("result", {})
            if "method" in answer:
                self.events.append(answer)

    def wait_for(self, method: str) -> Dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        for k, e in enumerate(self.events):
            if e["method"] == method:
                return self.events.pop(k)
        while True:
            answer = self._read(deadline)
            if answer.get("method") == method:
                return answer
            if "method" in answer:
                self.events.append(answer)

    # -- what the tests use ---------------------------------------------------------------------

    def open(self, url: str) -> float:
        """Navigate and wait for the load event; returns the seconds it took."""
        self.events.clear()
        start = time.monotonic()
        self.call("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")
        return time.monotonic() - start

    def eval(self, expression: str) -> Any:
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            raise CdpError("script failed: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def screenshot(self, path: str, width: int = 1280, max_height: int = 4000,
                   selector: Optional[str] = None) -> None:
        """A PNG of the whole page (up to max_height px tall), or of one element."""
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        height = int(min(max(size["height"], 100), max_height))
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1,
                                                         "mobile": False})
        params: Dict[str, Any] = {"format": "png"}
        if selector:
            box = self.eval("(function(){var r=document.querySelector(%s)"
                            ".getBoundingClientRect();return [r.left+scrollX,r.top+scrollY,"
                            "r.width,r.height];})()" % json.dumps(selector))
            params["clip"] = {"x": box[0], "y": box[1], "width": box[2],
                              "height": min(box[3], max_height), "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", params)["data"]
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(data))

    def errors(self) -> List[str]:
        """Console errors, uncaught exceptions and error log entries seen since `open`."""
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                out.append("exception: %s" % p["exceptionDetails"].get("text"))
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error",
                                                                                  "assert"):
                out.append("console.%s: %s" % (p["type"], [a.get("value") for a in
                                                           p.get("args", [])]))
            elif e["method"] == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append("log: %s" % p["entry"].get("text"))
        return out

    def requests(self) -> List[str]:
        """URLs the page asked the network for since `open`."""
        return [e["params"]["request"]["url"] for e in self.events
                if e["method"] == "Network.requestWillBeSent"]

    def close(self) -> None:
        try:
            self.call("Browser.close", browser=True)
        except (CdpError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._in, self._out):
            os.close(fd)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
