from tests.factories import make_brand, make_category, make_product


def test_product_list_for_anonymous_callers(anon, catalogue, django_assert_max_num_queries):
    make_product(slug="hidden", is_published=False)
    with django_assert_max_num_queries(6):
        response = anon.get("/api/v1/products/")
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 1
    assert data["results"][0]["slug"] == "harbour-tee"


def test_product_detail(anon, catalogue):
    response = anon.get("/api/v1/products/harbour-tee/")
    assert response.status_code == 200
    data = response.json()
    assert data["url"] == "http://testserver/api/v1/products/harbour-tee/"
    assert data["price"] == "24.00"
    assert data["brand"] == {"name": "Harbour", "slug": "harbour"}
    assert data["base_colors"] == [{"name": "White", "hex": "#FFFFFF"}, {"name": "Black", "hex": "#111111"}]
    assert data["print_area"] == {
        "width_mm": 250.0,
        "height_mm": 300.0,
        "dpi": 300,
        "min_dpi": 150,
        "safe_margin_mm": 3.0,
    }
    assert [m["slug"] for m in data["allowed_materials"]] == ["organic-cotton"]
    assert data["mockup_url"] is None


def test_unpublished_and_unknown_products_answer_404(anon, db):
    make_product(slug="hidden", is_published=False)
    assert anon.get("/api/v1/products/hidden/").status_code == 404
    assert anon.get("/api/v1/products/nope/").status_code == 404


def test_filter_by_category_and_brand(anon, catalogue):
    mugs = make_category(slug="mugs")
    other_brand = make_brand(slug="other")
    make_product(slug="harbour-mug", brand=catalogue["brand"], category=mugs)
    make_product(slug="other-mug", brand=other_brand, category=mugs)

    def slugs(**params):
        return sorted(p["slug"] for p in anon.get("/api/v1/products/", params).json()["results"])

    assert slugs(category="mugs") == ["harbour-mug", "other-mug"]
    assert slugs(brand="harbour") == ["harbour-mug", "harbour-tee"]
    assert slugs(category="mugs", brand="harbour") == ["harbour-mug"]
    assert slugs(category="nope") == []


def test_pagination_has_a_maximum_page_size(anon, db):
    brand, category = make_brand(), make_category()
    for _ in range(105):
        make_product(brand=brand, category=category, colors=())
    data = anon.get("/api/v1/products/", {"page_size": 1000}).json()
    assert data["count"] == 105
    assert len(data["results"]) == 100
    assert len(anon.get("/api/v1/products/").json()["results"]) == 20
    assert len(anon.get("/api/v1/products/", {"page_size": 5}).json()["results"]) == 5
    assert anon.get("/api/v1/products/", {"page": "abc"}).status_code == 404
