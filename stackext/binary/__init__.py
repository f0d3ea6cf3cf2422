"""Reading x64 PE binaries for `stackext frames`: unwind data (pefile), code (capstone) and PDB
names (our own MSF/DBI reader). Needs the `frames` extra: pip install "stackext[frames]".
"""
