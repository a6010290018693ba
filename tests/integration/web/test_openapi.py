"""schemathesis against the service's own OpenAPI spec: generated requests to every
operation, as the admin, never get a server error; the spec has examples and the
one error shape.

A bounded run (a few examples per operation) so it stays fast on two cores; the
live-event stream is left out (it never ends by design).
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.integration.web.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.integration

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def operations(api: str) -> list:
    schema = schemathesis.openapi.from_url(f"{api}/openapi.json")
    ops = [r.ok() for r in schema.get_all_operations()]
    return [op for op in ops if op.path != "/api/events"]


def test_no_server_errors(service):
    """Every operation, a bounded number of generated requests each, no 5xx."""
    ops = operations(service.api)
    assert len(ops) >= 20
    failures = []
    for op in ops:

        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(base_url=service.api, headers=ADMIN, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # collect every operation's failure, not only the first
            failures.append(f"{op.method.upper()} {op.path}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_the_spec_documents_errors_examples_and_pagination(service):
    spec = httpx.get(f"{service.api}/openapi.json").json()
    assert "ErrorBody" in spec["components"]["schemas"]
    ops = {(m, p): op for p, item in spec["paths"].items() for m, op in item.items()}
    devices = ops[("get", "/api/devices")]
    assert {"limit", "offset", "kind", "state", "building"} <= {p["name"] for p in devices["parameters"]}
    assert "example" in devices["responses"]["200"]["content"]["application/json"]
    assert "401" in devices["responses"]
    assert "examples" in spec["components"]["schemas"]["ActionBody"]
    assert "127.0.0.1" in spec["info"]["description"]
