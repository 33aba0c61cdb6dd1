"""The admin dashboard (personalization.admin_dashboard) over the known rows of analytics_helpers:
figures as computed by hand in test_analytics, brand scoping, bad input, the index link."""

import re
import xml.etree.ElementTree as ET

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from brand_guides.admin_scoping import SHOP_OWNER_GROUP
from tests.factories import make_user
from tests.personalization.analytics_helpers import known_fixture

pytestmark = pytest.mark.django_db
URL = "/admin/personalization/generationrequest/dashboard/"
TWO_DAYS = {"since": "2026-01-10", "until": "2026-01-11"}


@pytest.fixture
def rows():
    return known_fixture()


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def boss():
    return login(get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-long-enough-1"))


@pytest.fixture
def owner_a(rows):
    """Staff in the Shop owner group, owner of brand A (Acme: Mugs and Shirts) only."""
    user = make_user("owner-a", is_staff=True)
    user.groups.add(Group.objects.get(name=SHOP_OWNER_GROUP))
    rows["brand_a"].owners.add(user)
    return login(user)


def table(html: str, table_id: str) -> list[list[str]]:
    """The cells of one table of the page, as text."""
    body = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S).group(1)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
        if "<td" in row
    ]


def test_url_name_and_superuser_figures(rows, boss):
    assert reverse("admin:personalization_dashboard") == URL
    page = boss.get(URL, TWO_DAYS)
    assert page.status_code == 200
    html = page.content.decode()
    # Table 2 (test_analytics: Mugs 5 requests, 3.0 s, 72.5, rating 4.0, 2 ratings, 20.0 %).
    categories = table(html, "pz-categories")
    assert categories == [
        ["Caps", "1", "10.0", "40.0", "–", "0", "0.0"],
        ["Mugs", "5", "3.0", "72.5", "4.0", "2", "20.0"],
        ["Shirts", "4", "6.0", "70.0", "–", "0", "25.0"],
    ]
    # Table 4 at the default prices (3.50 USD per GPU hour, 25.00 per design): Mugs 4.0 s per
    # design x 3.50 / 3600 = 0.003888.. -> "0.0039"; (1 - 0.0038889 / 25) x 100 = 99.98444 -> "99.98";
    # overall 25.0 s / 5 timed = 5.0 s -> 5 x 3.5 / 3600 = 0.0048611 -> "0.0049", x 6 = 0.029 -> "0.03".
    cost = table(html, "pz-cost")
    assert cost[1] == ["Mugs", "3", "0", "12.0", "4.00", "0.0039", "25.00", "99.98", "0.01", "75.00"]
    assert cost[-1] == [
        "All categories",
        "6",
        "1",
        "25.0",
        "5.00",
        "0.0049",
        "25.00",
        "99.98",
        "0.03",
        "150.00",
    ]
    assert "3.50 USD per GPU hour" in html
    # Cache: 1 of 5 succeeded (20 %); reviews: 1 pending, 1 approved, 2 rejected.
    assert "<strong>20.0%</strong> (1 of 5 succeeded requests" in html
    assert "Rejected: <strong>2</strong>" in html
    # Seven charts inline, each a figure with a caption and a text alternative, no script.
    figures = re.findall(r"<figure .*?</figure>", html, re.S)
    assert len(figures) == 7 and all("<figcaption" in figure for figure in figures)
    for figure in figures:
        ET.fromstring(re.search(r"<svg.*</svg>", figure, re.S).group(0))
    assert "<script" not in html.split('id="content-main"', 1)[1]
    assert 'aria-label="Requests per category: Caps: 1; Mugs: 5; Shirts: 4."' in html
    assert "Choose one of" not in html


def test_brand_choice_and_defaults(rows, boss):
    page = boss.get(URL, {**TWO_DAYS, "brand": "bolt"})
    assert [r[0] for r in table(page.content.decode(), "pz-categories")] == ["Caps"]
    default = boss.get(URL).content.decode()  # the last 30 days: the fixture's January 2026 is long gone
    assert 'name="since"' in default and "No generation requests in this period." in default
    assert '<option value="" selected>All brands</option>' in default


def test_shop_owner_sees_only_their_brands(rows, owner_a):
    page = owner_a.get(URL, TWO_DAYS)
    assert page.status_code == 200
    html = page.content.decode()
    assert [r[0] for r in table(html, "pz-categories")] == ["Mugs", "Shirts"]
    assert "Caps" not in html and "Bolt" not in html
    assert '<option value="acme">Acme</option>' in html and "All my brands" in html
    # Brand A's failures only: its own rejected design, no Caps design rejection counted twice.
    assert "Rejected: ordered design rejected in the shop&#x27;s review: 1" in html
    # Another brand's slug is a form error, never its figures.
    other = owner_a.get(URL, {**TWO_DAYS, "brand": "bolt"})
    assert other.status_code == 200
    text = other.content.decode()
    assert "Choose one of the listed brands." in text
    assert "pz-categories" not in text and "Caps" not in text and "<figure" not in text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": "yesterday", "until": "2026-01-11"}, "Enter a valid date."),
        ({"since": "2026-01-12", "until": "2026-01-11"}, "The start date is after the end date."),
        ({"since": "2024-01-01", "until": "2026-01-11"}, "Choose a period of at most 366 days."),
        ({"since": "0001-01-01", "until": "9999-12-31"}, "Choose dates between 2000-01-01 and"),
        ({"since": "", "until": "2026-01-11"}, "This field is required."),
        ({**TWO_DAYS, "brand": "no-such-brand"}, "Choose one of the listed brands."),
    ],
)
def test_bad_input_is_a_form_error(rows, boss, query, message):
    page = boss.get(URL, query)
    assert page.status_code == 200
    html = page.content.decode()
    assert message in html and "<figure" not in html


def test_permissions_and_links(rows, boss, owner_a):
    index = boss.get("/admin/").content.decode()
    assert f'href="{URL}"' in index
    assert f'href="{URL}"' in owner_a.get("/admin/").content.decode()
    report = boss.get("/admin/personalization/generationrequest/report/").content.decode()
    assert f'href="{URL}"' in report
    # Staff without the view permission on generation requests: no link, and 403.
    clerk = login(make_user("clerk", is_staff=True))
    assert f'href="{URL}"' not in clerk.get("/admin/").content.decode()
    assert clerk.get(URL).status_code == 403
    # Not logged in: the admin's login page.
    assert Client().get(URL).status_code == 302
