"""The committed JSON Schema is the one the pydantic model generates."""

from __future__ import annotations

import json

from topology.schema import SCHEMA_PATH, site_json_schema, site_json_schema_text


def test_committed_schema_equals_the_generated_one():
    committed = SCHEMA_PATH.read_text(encoding="utf-8")
    assert committed == site_json_schema_text(), (
        "topology/schema/site.schema.json is stale: run "
        "`gridwatch site schema -o topology/schema/site.schema.json`"
    )


def test_schema_describes_the_top_level_and_devices():
    schema = site_json_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert set(schema["required"]) == {"community"}
    device = schema["$defs"]["Device"]["properties"]
    assert {"id", "kind", "model", "location", "heartbeat_s", "z2m_name"} <= set(device)
    assert json.loads(site_json_schema_text()) == schema
