"""JSON Lines: one stack per line, the same keys as the JSON document's stacks (for DuckDB,
jq -c, pandas.read_json(lines=True) over folders of reports)."""

from __future__ import annotations

import json

from stackext.model import StackReport
from stackext.render.base import RenderOptions, no_text
from stackext.report_json import stack_dict


def one(r: StackReport, opts: RenderOptions, position: int) -> str:
    return json.dumps(stack_dict(r)) + "\n"


begin = end = no_text
