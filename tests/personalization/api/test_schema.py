"""The OpenAPI schema validates, and a bounded schemathesis run over it finds no server error."""

import pytest
import schemathesis
import yaml
from django.core import signals
from django.core.management import call_command
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from tests.personalization.api.conftest import make_generation

MAX_EXAMPLES = 12


def test_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    assert {
        "/api/v1/auth/token/",
        "/api/v1/presets/",
        "/api/v1/products/",
        "/api/v1/products/{slug}/",
        "/api/v1/brands/{slug}/",
        "/api/v1/materials/",
        "/api/v1/styles/",
        "/api/v1/generations/",
        "/api/v1/generations/{id}/",
        "/api/v1/generations/{id}/cancel/",
        "/api/v1/generations/{id}/rating/",
        "/api/v1/generations/{id}/images/{index}/preview/",
        "/api/v1/generations/{id}/text-options/",
        "/api/v1/orders/",
        "/api/v1/orders/{lookup}/",
    } <= set(paths)
    submit = paths["/api/v1/generations/"]["post"]
    assert {"202", "400", "401", "409", "422", "429"} <= set(submit["responses"])
    assert "Idempotency-Key" in [p["name"] for p in submit["parameters"]]
    assert "Retry-After" in submit["responses"]["429"]["headers"]
    assert {"application/json", "multipart/form-data"} <= set(submit["requestBody"]["content"])
    order = paths["/api/v1/orders/"]["post"]
    assert {"201", "400", "401", "409", "429"} <= set(order["responses"])
    assert "Retry-After" in order["responses"]["429"]["headers"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method} {path} has no summary"
    # Server-side secrets never appear in the public shapes.
    components = schema["components"]["schemas"]
    assert "prompt_template" not in components["Style"]["properties"]
    assert not {"banned_terms", "lora_weights", "trademark_allowlist"} & set(
        components["Brand"]["properties"]
    )


def test_schema_and_docs_are_served(anon, db):
    assert anon.get("/api/schema/").status_code == 200
    assert anon.get("/api/docs/").status_code == 200


@pytest.fixture
def keep_db_connection():
    """Over raw WSGI, Django closes the connection when a request ends; the test's transaction must
    survive (Django's test client disconnects the same handler)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_api_has_no_server_errors(settings, user, catalogue, keep_db_connection, mode):
    """Every operation, with a bounded number of generated requests (valid ones, then ones that break
    the schema on purpose), authenticated with a token: never a 5xx."""
    from config.wsgi import application

    settings.ALLOWED_HOSTS = ["*"]
    make_generation(customer=user, product=catalogue["product"])
    make_generation(customer=user, product=catalogue["product"], status="queued")
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    api = schemathesis.openapi.from_wsgi("/api/schema/", application)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == 18  # with the text preview, text options and fulfilment export

    unsatisfiable = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(
            max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        try:
            run()
        except Unsatisfiable:
            # Nothing to break in this operation (e.g. no parameters or body in negative mode).
            unsatisfiable.append(operation.label)
    assert mode == GenerationMode.NEGATIVE or not unsatisfiable, unsatisfiable
