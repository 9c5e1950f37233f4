"""No request of any shape gets a 5xx: schemathesis walks the whole /api/v1 OpenAPI document,
in process, as an anonymous caller, a department editor and the operator."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

ROLES = ("anonymous", "editor", "sysadmin")


def test_api_never_answers_5xx(app, city):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 15
    failures: list[tuple] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):  # type: ignore[no-untyped-def]
            for role in ROLES:
                headers = {"Authorization": city.tokens[role]} if role != "anonymous" else {}
                response = case.call(headers=headers)
                if response.status_code >= 500:
                    failures.append((role, case.method, case.formatted_path,
                                     case.query, case.body, response.text[:300]))

        check()
    assert failures == []
