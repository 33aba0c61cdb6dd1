import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import make_user

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def alice(db):
    return make_user("alice", password="correct horse battery")


def test_token_for_username_and_password(anon, alice):
    response = anon.post(TOKEN_URL, {"username": "alice", "password": "correct horse battery"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=alice).key}
    # The same token again, and it authenticates.
    again = anon.post(TOKEN_URL, {"username": "alice", "password": "correct horse battery"})
    assert again.json() == response.json()
    anon.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert anon.get("/api/v1/generations/").status_code == 200


@pytest.mark.parametrize(
    "data",
    [
        {"username": "alice", "password": "wrong"},
        {"username": "nobody", "password": "correct horse battery"},
        {"username": "alice"},
        {},
        {"username": ["alice"], "password": 1},
    ],
)
def test_bad_credentials_answer_400(anon, alice, data):
    response = anon.post(TOKEN_URL, data, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()


def test_token_endpoint_is_throttled_per_address(anon, alice, throttle_rates):
    throttle_rates(auth_token="3/min")
    codes = [
        anon.post(TOKEN_URL, {"username": "alice", "password": f"guess {i}"}, format="json").status_code
        for i in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    response = anon.post(TOKEN_URL, {"username": "alice", "password": "correct horse battery"}, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/generations/"),
        ("post", "/api/v1/generations/"),
        ("get", "/api/v1/generations/8a7b1f0e-0000-4000-8000-000000000000/"),
        ("post", "/api/v1/generations/8a7b1f0e-0000-4000-8000-000000000000/cancel/"),
        ("post", "/api/v1/generations/8a7b1f0e-0000-4000-8000-000000000000/rating/"),
        ("get", "/api/v1/orders/"),
        ("post", "/api/v1/orders/"),
        ("get", "/api/v1/orders/PZ00000000/"),
    ],
)
def test_anonymous_callers_get_401(anon, db, method, url):
    response = getattr(anon, method)(url, {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_answers_401(anon, db):
    anon.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    assert anon.get("/api/v1/generations/").status_code == 401


def test_session_authentication_enforces_csrf(alice, catalogue):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/v1/generations/").status_code == 200
    body = {"product": "harbour-tee", "base_color": "White", "description": "a gull"}
    response = client.post("/api/v1/generations/", body, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    token = "a" * 32  # any well-formed secret, sent as the cookie and the header (double submit)
    client.cookies["csrftoken"] = token
    response = client.post("/api/v1/generations/", body, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 202
