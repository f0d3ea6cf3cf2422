"""stackext: where a Windows thread's stack went, frame by frame, against its budget."""

__version__ = "0.1.0"
