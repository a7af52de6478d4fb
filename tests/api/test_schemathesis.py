"""schemathesis against /api/v1/openapi.json: every operation, every check, every phase the
command line runs (examples, coverage, fuzzing, stateful), valid and invalid input, so the
document and the API cannot disagree unnoticed.

Bounded and repeatable: a fixed number of examples per operation, deterministic generation
and no example database, so the suite stays fast and a failure in CI is the same failure
on a laptop. schemathesis's engine runs in-process against the WSGI app (its pytest plugin
does not work with pytest 9).
"""

from __future__ import annotations

import schemathesis
from schemathesis.engine import Status, events, from_schema

from tests.api.test_api import world  # noqa: F401 - the same open data, published and not
from volunteer_app.api import openapi

EXAMPLES_PER_OPERATION = 30


def _run(app) -> tuple[dict[str, int], list[str]]:
    """{operation: cases sent} and every failure or error, as schemathesis words it."""
    config = schemathesis.Config.from_dict(
        {
            "checks": {"enabled": True},
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES_PER_OPERATION,
                "deterministic": True,
                "database": "none",
            },
        }
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    cases: dict[str, int] = {}
    problems: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.label:
            cases[event.label] = cases.get(event.label, 0) + len(event.recorder.cases)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        problems.append(
                            f"{event.label} [{check.name}] {failure.title}: {failure.message}\n"
                            f"  {check.failure_info.code_sample}"
                        )
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            problems.append(f"{getattr(event, 'label', '')}: {event.info.format()}")
    return cases, problems


def test_the_api_keeps_its_contract(app, world):  # noqa: F811 - the fixture imported above
    cases, problems = _run(app)

    print(f"schemathesis: {sum(cases.values())} cases", cases)
    assert problems == [], "\n".join(problems)
    # Every operation of the document but the document itself (which schemathesis leaves
    # out) was exercised, each with more than a token few cases.
    paths = openapi.document("http://localhost/api/v1")["paths"]
    assert set(cases) == {f"GET {path}" for path in paths if path != "/openapi.json"}
    assert all(count >= EXAMPLES_PER_OPERATION for count in cases.values()), cases
