"""No request of any shape gets a 5xx: schemathesis walks the whole /api/v1 OpenAPI document,
in process, as an anonymous caller and as the operator."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from zhihui.core.audit.models import AuditEntry  # noqa: F401  (schema completeness)


@pytest.fixture(params=["anonymous", "sysadmin", "editor"])
def role(request) -> str:  # type: ignore[no-untyped-def]
    return request.param


@pytest.fixture
def api_schema(app, city):  # type: ignore[no-untyped-def]
    app.state.test_tokens = city.tokens
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_never_answers_5xx(case, role, app):  # type: ignore[no-untyped-def]
    headers = {"Authorization": app.state.test_tokens[role]} if role != "anonymous" else {}
    response = case.call(headers=headers)
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
