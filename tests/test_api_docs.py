"""The API docs (/api/docs/ Swagger UI, /api/redoc/ ReDoc) load everything from the site itself:
drf-spectacular-sidecar's static files, no CDN and no web fonts (they work on an offline network)."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

DOCS = ["swagger-ui", "redoc"]
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[^\s"'<>]+""")


class AssetLinks(HTMLParser):
    """The URLs a browser fetches when it opens the page: scripts, stylesheets, icons, images."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("src", "href"):
            if attributes.get(name) and tag in {"script", "link", "img", "iframe", "source", "embed"}:
                self.urls.append(attributes[name])
        self._in_script = tag in {"script", "style"}

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.inline.append(data)


def _links(html: str) -> AssetLinks:
    parser = AssetLinks()
    parser.feed(html)
    return parser


@pytest.fixture
def docs_client(settings):
    """Static files found like in development (no collectstatic in tests), through whitenoise."""
    settings.WHITENOISE_USE_FINDERS = True
    return Client()


@pytest.mark.parametrize("name", DOCS)
def test_the_docs_page_fetches_nothing_from_outside_the_site(docs_client, name):
    response = docs_client.get(reverse(name))
    assert response.status_code == 200
    links = _links(response.content.decode())
    assert any(url.endswith(".js") for url in links.urls)  # the parser did find the scripts
    outside = [url for url in links.urls if urlsplit(url).scheme or urlsplit(url).netloc]
    assert outside == []
    # Nor do the inline scripts and styles name another host (a schema URL, a font, a validator).
    assert [m for text in links.inline for m in ABSOLUTE_URL.findall(text)] == []


@pytest.mark.parametrize("name", DOCS)
def test_every_asset_of_the_docs_page_is_a_static_file_that_answers(docs_client, name):
    links = _links(docs_client.get(reverse(name)).content.decode())
    assert links.urls
    for url in links.urls:
        path = urlsplit(url).path
        assert path.startswith(settings.STATIC_URL) or path.startswith("/" + settings.STATIC_URL), url
        relative = path.split(settings.STATIC_URL, 1)[1]
        assert relative.startswith("drf_spectacular_sidecar/"), url
        assert finders.find(relative), url
        response = docs_client.get(path)
        assert response.status_code == 200, url
        assert b"".join(response.streaming_content)  # a real file, not an empty answer


def test_the_docs_read_the_schema_from_this_site(docs_client):
    html = docs_client.get(reverse("redoc")).content.decode()
    assert f'Redoc.init("{reverse("schema")}"' in html
    schema = docs_client.get(reverse("schema"))
    assert schema.status_code == 200
    assert b"/api/v1/generations/" in schema.content


def test_redoc_forbids_pictures_from_outside_the_site(docs_client):
    """ReDoc always shows the Redocly logo from cdn.redoc.ly: the page's policy stops it (the browser
    test sees no request leave)."""
    html = docs_client.get(reverse("redoc")).content.decode()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert policy, "no Content-Security-Policy on the ReDoc page"
    img_src = next(d for d in policy.group(1).split(";") if d.strip().startswith("img-src")).split()[1:]
    assert "'self'" in img_src
    assert not [source for source in img_src if "." in source or source in {"*", "https:", "http:"}]
