import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from personalization.policy import (
    DEFAULT_BANNED_TERMS,
    DEFAULT_TRADEMARKS,
    PolicyError,
    check_text,
    normalize,
    validate_description,
)

BANNED = (*DEFAULT_BANNED_TERMS, "ass")


def check(description, negative_prompt="", allowlist=()):
    return check_text(
        description=description,
        negative_prompt=negative_prompt,
        banned_terms=BANNED,
        trademarks=DEFAULT_TRADEMARKS,
        allowlist=allowlist,
    )


def terms(description, **kwargs):
    return [(v.code, v.term) for v in check(description, **kwargs)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＮＵＤＥ", "nude"),
        ("nu\u200bde", "nude"),
        ("nu\u00adde", "nude"),
        ("n\u200du\u2060d\ufeffe", "nude"),
        ("n.u.d.e", "nude"),
        ("n u d e", "nude"),
        ("n-u-d-e", "nude"),
        ("NÜDE", "nude"),
        ("nud3", "nude"),
        ("p0rn", "porn"),
        ("@ss", "ass"),
        ("$hit", "shit"),
        ("sh1t", "shit"),
        ("n\u0456ke", "nike"),  # Cyrillic і
        ("team 23", "team 23"),  # numbers stay numbers
        ("well-known", "well-known"),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once
    assert not set(once) & {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["nude", "porn", "nazi", "hentai"]), st.sampled_from([".", " ", "-", "\u200b", "_", "*"])
)
def test_separated_banned_words_are_caught(word, sep):
    assert ("banned_term", word) in terms(f"a design with {sep.join(word)} vibes")


@pytest.mark.parametrize(
    "text",
    [
        "ｎｕｄｅ beach",
        "nu\u200bde beach",
        "n.u.d.e beach",
        "n u d e beach",
        "n-u-d-e beach",
        "nud3 beach",
        "NUDES on a beach",
        "nuuuude beach",
        "Nude beach",
    ],
)
def test_banned_term_bypass_attempts(text):
    violations = check(text)
    assert [(v.code, v.term, v.field) for v in violations] == [("banned_term", "nude", "description")]
    assert "“nude”" in violations[0].message and "remove it" in violations[0].message


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        ("A Nike swoosh on a lion", "Nike"),
        ("NIKE", "Nike"),
        ("n.i.k.e logo", "Nike"),
        ("Ｎｉｋｅ", "Nike"),
        ("n1ke", "Nike"),
        ("my nikes", "Nike"),
        ("Mickey Mouse waving", "Mickey Mouse"),
        ("mickeymouse", "Mickey Mouse"),
        ("a star-wars scene", "Star Wars"),
        ("StarWars", "Star Wars"),
        ("Pikachu in the rain", "Pikachu"),
        ("p o k e m o n cards", "Pokemon"),
        ("Pokémon cards", "Pokemon"),
        ("coca cola bottle", "Coca-Cola"),
        ("Hello Kitty bow", "Hello Kitty"),
        ("disney castle", "Disney"),
        ("marvel heroes", "Marvel"),
        ("adidas stripes", "Adidas"),
    ],
)
def test_trademarks(text, mark):
    violations = check(text)
    assert [(v.code, v.term) for v in violations] == [("trademark", mark)]
    assert violations[0].message == (
        f"Your description mentions “{mark}”, a trademark we can't print. "
        "Describe the design without brand names."
    )


def test_trademark_hidden_in_the_negative_prompt():
    violations = check("A lion on a hill", negative_prompt="blurry, d.i.s.n.e.y")
    assert [(v.code, v.term, v.field) for v in violations] == [("trademark", "Disney", "negative prompt")]
    assert violations[0].message.startswith("Your negative prompt mentions “Disney”")


def test_allow_listed_own_mark_passes():
    assert check("Nike air max graphic", allowlist=("NIKE",)) == []
    assert terms("Nike and Adidas", allowlist=("nike",)) == [("trademark", "Adidas")]
    # the allow-list covers trademarks only, never banned terms
    assert terms("nude", allowlist=("nude",)) == [("banned_term", "nude")]


def test_brand_terms_and_marks_are_extra_lists():
    violations = check_text(
        description="A Zorgo knockoff tee",
        banned_terms=("knockoff",),
        trademarks=("Zorgo",),
        allowlist=(),
    )
    assert [(v.code, v.term) for v in violations] == [("banned_term", "knockoff"), ("trademark", "Zorgo")]


@pytest.mark.parametrize(
    "text",
    [
        "A class act in a classic glass vase",  # "ass" inside words
        "Sussex countryside with an assortment of grass",
        "Grapes and a document about Essex",
        "A nazareth sunset",
        "Hike up a snowy mountain in the sunshine",
        "Shiitake mushrooms",
        "Team number 23 with 7 stars",
        "A cockpit scunthorpe sign",
        "Lion at dawn, watercolor",
        "Kites over the bay",
    ],
)
def test_innocent_text_passes(text):
    assert check(text) == []


def test_validate_description():
    assert validate_description("  A lion\n on a   hill ") == "A lion on a hill"
    assert validate_description("x" * 500) == "x" * 500
    for text, code in [
        ("", "empty_description"),
        (" \n\t ", "empty_description"),
        ("x" * 501, "description_too_long"),
        ("a lion\x00", "control_characters"),
        ("a \x1b[31mred\x1b[0m lion", "control_characters"),
        ("a lion \u202eedoc", "control_characters"),
    ]:
        with pytest.raises(PolicyError) as info:
            validate_description(text)
        assert info.value.code == code
        assert info.value.message
    with pytest.raises(PolicyError):
        validate_description("abcdef", max_length=5)


def test_default_lists():
    for mark in ("Nike", "Adidas", "Disney", "Mickey Mouse", "Marvel", "Pokemon", "Pikachu", "Coca-Cola",
                 "Star Wars", "Hello Kitty"):  # fmt: skip
        assert mark in DEFAULT_TRADEMARKS
    assert len(set(DEFAULT_BANNED_TERMS)) == len(DEFAULT_BANNED_TERMS) > 10
