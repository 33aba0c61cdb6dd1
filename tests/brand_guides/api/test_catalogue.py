import pytest

from tests.factories import make_material, make_style


def test_brand_shows_public_palette_and_style_keywords_only(anon, catalogue):
    response = anon.get("/api/v1/brands/harbour/")
    assert response.status_code == 200
    data = response.json()
    assert data == {
        "name": "Harbour",
        "slug": "harbour",
        "description": "",
        "palette": [
            {"name": "Ocean", "hex": "#1D4E89", "role": "primary"},
            {"name": "Sand", "hex": "#F2D0A4", "role": "secondary"},
        ],
        "style_keywords": ["nautical", "clean lines"],
        "fonts": [],
    }
    assert "zebra" not in response.content.decode()  # banned terms stay server side
    assert "lora" not in response.content.decode()


def test_unknown_brand_answers_404(anon, db):
    assert anon.get("/api/v1/brands/nope/").status_code == 404


def test_materials(anon, catalogue):
    make_material(
        name="Brushed steel", slug="brushed-steel", finish="metallic", prompt_keywords="secret sauce"
    )
    response = anon.get("/api/v1/materials/")
    assert response.status_code == 200
    data = response.json()
    assert [m["slug"] for m in data["results"]] == ["brushed-steel", "organic-cotton"]
    assert set(data["results"][0]) == {"name", "slug", "finish", "reflectance", "texture_description"}
    assert "secret sauce" not in response.content.decode()


def test_styles_never_show_prompt_templates(anon, catalogue):
    make_style(name="Pop art", slug="pop-art", prompt_template="MERCHANT-ONLY {subject}")
    response = anon.get("/api/v1/styles/")
    assert response.status_code == 200
    assert {s["slug"] for s in response.json()["results"]} == {"pop-art", "watercolour"}
    assert set(response.json()["results"][0]) == {"name", "slug", "thumbnail_url"}
    assert "MERCHANT-ONLY" not in response.content.decode()
    assert "{subject}" not in response.content.decode()


@pytest.mark.parametrize("url", ["/api/v1/materials/", "/api/v1/styles/", "/api/v1/brands/harbour/"])
def test_catalogue_is_read_only(api, catalogue, url):
    assert api.post(url, {}, format="json").status_code == 405
