"""Where frames come from: WinDbg text logs (windbg) and, lazily, a live debugger (pykd)."""
