import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from personalization.policy import (
    DEFAULT_BANNED_TERMS,
    DEFAULT_TRADEMARKS,
    PolicyError,
    ProtectedName,
    check_text,
    check_texts,
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
        "the band's hit single",  # a possessive "s" does not join the next word
        "Dad's Hit List",
        "Tom's ex and Mo’s ex-wife",
        "it's hot, isn't it",
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


# --- letter-by-letter spellings next to one-letter words (issue 10) --------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a n.u.d.e figure", ("banned_term", "nude")),
        ("a n u d e figure", ("banned_term", "nude")),
        ("I n-u-d-e", ("banned_term", "nude")),
        ("a s.e.x scene", ("banned_term", "sex")),
        ("a N.i.k.e logo", ("trademark", "Nike")),
        ("A n.u.d.e", ("banned_term", "nude")),
        ("I p o r n", ("banned_term", "porn")),
        ("n.u.d.e a", ("banned_term", "nude")),  # the one-letter word after the spelling
        ("a n.u.d.e. I", ("banned_term", "nude")),
        ("a b n.u.d.e c", ("banned_term", "nude")),  # several one-letter words around it
        ("x n u d e s", ("banned_term", "nude")),  # plural
        ("a n . u . d . e figure", ("banned_term", "nude")),  # spaced separators
        ("a n_u_d_e figure", ("banned_term", "nude")),
        ("a n*u*d*e figure", ("banned_term", "nude")),
        ("a n/u/d/e figure", ("banned_term", "nude")),
        ("a n\u200bu\u200bd\u200be figure", ("banned_term", "nude")),
        ("a ｎ ｕ ｄ ｅ figure", ("banned_term", "nude")),
        ("a n u d 3 figure", ("banned_term", "nude")),  # a digit for a letter inside the spelling
        ("a p 0 r n poster", ("banned_term", "porn")),
        ("5 e x", ("banned_term", "sex")),
        ("nud 3", ("banned_term", "nude")),
        ("a d.i.s.n.e.y castle", ("trademark", "Disney")),
        ("I N F L", ("trademark", "NFL")),
        ("a K.K.K. rally", ("banned_term", "kkk")),
        ("a m i c k e y m o u s e", ("trademark", "Mickey Mouse")),
    ],
)
def test_letter_by_letter_spellings_are_found_wherever_they_stand(text, expected):
    assert expected in terms(text), terms(text)


@pytest.mark.parametrize("word", ["nude", "porn", "nazi", "hentai", "sex"])
@pytest.mark.parametrize("before", ["a", "I", "A", "i", "a b", "o"])
@pytest.mark.parametrize("sep", [".", " ", "-", "\u200b", "_", "*", " . "])
def test_spellings_after_one_letter_words(word, before, sep):
    assert ("banned_term", word) in terms(f"{before} {sep.join(word)} figure")


@pytest.mark.parametrize(
    "text",
    [
        "a n e w day",
        "I s e e",
        "a b c",
        "A to Z",
        "I a m here",
        "J. R. R. Tolkien",
        "J.R.R. Tolkien reading a book",
        "a b c d e f g",
        "x y z axes",
        "Plan B and vitamin C",
        "a B-52 bomber and a T-Rex",
        "I am a U S A fan",
        "the letters a, b and c",
        "a 55 inch TV",  # a number is not "ass"
        "top 5 ex-boyfriends",  # five, not "s"
        "Route 66 at 7 pm",
        "1 2 3 go",
        "a e i o u",
        "Mr. T and Mrs. S",
        "K-pop stars",
        "an e-bike",
        "P.S. I love you",
        "U.K. flag",
        "a s k me anything",
    ],
)
def test_innocent_single_letters_pass(text):
    assert check(text) == []


def test_normalize_still_reads_spellings_as_words():
    assert normalize("n.u.d.e") == "nude"
    assert normalize("a n.u.d.e figure") == normalize(normalize("a n.u.d.e figure"))


# --- invisible characters (issue 10) ----------------------------------------------------------------


INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # byte-order mark
    "\u00ad",  # soft hyphen
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u2061",  # function application
    "\u2062",  # invisible times
    "\u2063",  # invisible separator
    "\u2064",  # invisible plus
    "\u034f",  # combining grapheme joiner
    "\u180e",  # Mongolian vowel separator
    "\u3164",  # Hangul filler
    "\U000e0041",  # tag latin capital letter A ("ASCII smuggling")
]


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_validate_description_removes_invisible_characters(char):
    text = f"{char}a fo{char}x in{char} the snow{char}"
    assert validate_description(text) == "a fox in the snow"


def test_a_description_of_only_invisible_characters_is_empty():
    with pytest.raises(PolicyError) as info:
        validate_description("\u200b\ufeff\u2060 \u00ad")
    assert info.value.code == "empty_description"


def test_length_is_counted_without_invisible_characters():
    assert validate_description("x" * 500 + "\u200b" * 50) == "x" * 500


def test_invisible_ranges_cover_every_format_character():
    import unicodedata

    from personalization.policy import _INVISIBLE

    format_chars = [cp for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Cf"]
    missing = [hex(cp) for cp in format_chars if cp not in _INVISIBLE]
    assert missing == []


def test_emoji_survive_without_their_joiners():
    assert validate_description("a family 👨\u200d👩\u200d👧 picnic") == "a family 👨👩👧 picnic"


# --- protected names and several named texts (issue 10) --------------------------------------------


def names_check(texts, *names):
    return check_texts(
        texts, banned_terms=BANNED, trademarks=DEFAULT_TRADEMARKS, allowlist=(), protected_names=names
    )


def test_protected_names_match_like_banned_terms():
    swift = ProtectedName("Taylor Swift", "person", "reject")
    for text in [
        "Taylor Swift on stage",
        "taylor-swift",
        "TaylorSwift",
        "t.a.y.l.o.r s.w.i.f.t",
        "a T a y l o r S w i f t poster",
        "Tay\u200blor Sw1ft",
        "Taylor Swift's guitar",
        "ＴＡＹＬＯＲ ＳＷＩＦＴ",
    ]:
        violations = names_check({"description": text}, swift)
        assert [(v.code, v.term, v.outcome) for v in violations] == [
            ("protected_name", "Taylor Swift", "reject")
        ], text
    assert names_check({"description": "a swift bird and a tailor"}, swift) == []


def test_protected_name_messages_name_the_name_and_what_to_do():
    rules = (
        ProtectedName("Taylor Swift", "person", "reject"),
        ProtectedName("Banksy", "artist", "reject"),
        ProtectedName("Totoro", "character", "review"),
    )
    violations = names_check({"description": "Banksy style Totoro with Taylor Swift"}, *rules)
    by_term = {v.term: v for v in violations}
    assert set(by_term) == {"Taylor Swift", "Banksy", "Totoro"}
    assert by_term["Taylor Swift"].message == (
        "Your description names “Taylor Swift”, a real person whose name or likeness we can't print "
        "without their permission. Leave the name out and describe the design in your own words."
    )
    assert "“Banksy”, a living artist" in by_term["Banksy"].message
    assert by_term["Totoro"].outcome == "review"
    assert by_term["Totoro"].message == (
        "The description names “Totoro” (a protected character): a person at the shop checks the design."
    )


def test_the_same_name_twice_rejecting_wins():
    violations = names_check(
        {"description": "banksy"},
        ProtectedName("Banksy", "artist", "review"),
        ProtectedName("BANKSY", "artist", "reject"),
    )
    assert [(v.term, v.outcome) for v in violations] == [("BANKSY", "reject")]


def test_check_texts_reports_each_named_text():
    violations = names_check(
        {"description": "a lion", "text layer": "Just Do It", "text in the picture": "n.u.d.e"},
        ProtectedName("Leo", "character", "review"),
    )
    assert [(v.field, v.code, v.term) for v in violations] == [
        ("text layer", "trademark", "Just Do It"),
        ("text in the picture", "banned_term", "nude"),
    ]
    assert violations[0].message.startswith("Your text layer mentions “Just Do It”")
    assert all(v.outcome == "reject" for v in violations)


def test_check_text_is_check_texts_of_description_and_negative_prompt():
    assert check("a lion", negative_prompt="nude") == names_check(
        {"description": "a lion", "negative prompt": "nude"}
    )


@pytest.mark.parametrize("text", ["a McDonald’s logo", "McDonald's fries", "n'u'd'e art", "s'e'x scene"])
def test_apostrophes_inside_words_hide_nothing(text):
    assert check(text) != []
