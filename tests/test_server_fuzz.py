"""Fuzzing the web API from its own OpenAPI schema (schemathesis + hypothesis): no generated request, valid or
not, may get a 500."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, trained_tiny):
    from rnalabel.engine.bundle import save_model
    from rnalabel.server import Limits, create_app

    d = tmp_path_factory.mktemp("fuzz")
    save_model(trained_tiny, d / "rbp")
    app = create_app([d / "rbp"], limits=Limits(max_sequences=20, max_length=3000))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize("path, mode", [(p, m) for p in ("/predict", "/explain", "/rank") for m in
                                          ("positive", "negative")] + [("/models/{name}", "positive")])
def test_no_server_errors(api_schema, path, mode):
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error

    ops = [r.ok() for r in api_schema.get_all_operations() if r.ok().path == path]
    assert ops, path
    n = []
    for op in ops:
        @given(case=op.as_strategy(generation_mode=GenerationMode(mode)))
        @settings(max_examples=20, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            n.append(1)
            case.call_and_validate(checks=[not_a_server_error])

        run()
    assert len(n) >= 5  # requests were really made
