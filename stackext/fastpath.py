"""The one switch of the fast paths (the reader's plain-row path, the JSON writer's frame
lines, the CSV writer's hand-joined rows).

Each fast path gives exactly what the full path gives for what it takes and leaves all else to
the full path; tests/test_fast_path.py turns this off to run the full path alone on every log we
keep and compares the two outputs byte for byte. Imports nothing.
"""

ENABLED = True
