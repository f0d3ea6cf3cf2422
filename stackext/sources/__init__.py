"""Where frames come from: WinDbg text logs (windbg_log) and, lazily, a live debugger (pykd)."""
