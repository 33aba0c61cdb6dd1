import pytest

from tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/products/?category=%00",
        "/api/v1/products/?brand=a%00b",
        "/?q=%00",
        "/personalize/?product=%00",
    ],
)
def test_nul_in_the_query_string_is_a_400_not_a_500(client, url):
    make_product()
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_ordinary_query_strings_pass(client):
    product = make_product()
    assert client.get(f"/api/v1/products/?category={product.category.slug}").status_code == 200
