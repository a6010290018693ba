"""The site file's JSON Schema, generated from the pydantic models in :mod:`topology.model`.

Layer: pure core. The committed file ``topology/schema/site.schema.json`` is what
editors and site authors use (``# yaml-language-server: $schema=...``); a unit
test checks it equals :func:`site_json_schema`. After changing the model,
regenerate it with::

    gridwatch site schema -o topology/schema/site.schema.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from topology.model import Site

SCHEMA_PATH = Path(__file__).parent / "site.schema.json"
SCHEMA_ID = "https://gridwatch.example/schema/site.schema.json"


def site_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a site file."""
    schema = Site.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "GridWatch site file",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def site_json_schema_text() -> str:
    """The schema as the committed file's text: 2-space JSON, Chinese kept, trailing newline."""
    return json.dumps(site_json_schema(), indent=2, ensure_ascii=False) + "\n"
