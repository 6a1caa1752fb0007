from pathlib import Path

import pytest

from rag.ingest.loaders import SkipFile, load_document, parse_date

ARTICLES = Path(__file__).resolve().parent.parent / "data" / "articles"


@pytest.mark.parametrize(
    "file, outlet, date, title_start",
    [
        ("000_43fc5ccdc40033fb.txt", None, "2024-12-05", "Terrorists have staged"),
        ("001_d03958c25c20727c.txt", None, None, "The Syrian government said"),
        ("002_4bae47413ab922b5.txt", None, None, "On Wednesday, Syria announced"),
        ("003_82cead1f1c9ff3e4.txt", "AP", "2024-12-04", "Syria said Wednesday"),
        (
            "004_41f9c137d467bf3b.txt",
            "Times of Oman",
            "2024-12-02",
            "Syrian rebels push toward Hama",
        ),
    ],
)
def test_sample_article_metadata(file, outlet, date, title_start):
    doc = load_document(ARTICLES / file, file, 1_000_000)
    assert (doc.outlet, doc.date) == (outlet, date)
    assert doc.title.startswith(title_start)


def loaded(tmp_path, name, text):
    """The document a file of this name and text loads as."""
    path = tmp_path / name
    path.write_text(text)
    return load_document(path, name, 1_000_000)


def content(doc):
    return "\n".join(doc.text[s:e] for s, e in doc.segments)


def test_boilerplate_source_and_date_lines_are_not_content():
    doc = load_document(ARTICLES / "004_41f9c137d467bf3b.txt", "004", 1_000_000)
    text = content(doc)
    assert "Source: Times of Oman" not in text
    assert "Dec 02, 2024" not in text
    assert not text.startswith("World")
    assert text.count("Syrian rebels push toward Hama after taking Aleppo") == 1
    assert "Damascus [Syria], December 2:" not in text  # the dateline
    assert text.splitlines()[1].startswith("Rebel forces in northwestern Syria")


def test_ad_box_and_date_prefix_and_agency_dateline_are_dropped():
    ad = load_document(ARTICLES / "001_d03958c25c20727c.txt", "001", 1_000_000)
    assert "ARTICLE AD BOX" not in content(ad)
    ap = load_document(ARTICLES / "003_82cead1f1c9ff3e4.txt", "003", 1_000_000)
    assert content(ap).startswith("Syria said Wednesday")
    assert ap.dateline == "BEIRUT"


def test_a_dateline_naming_an_agency_of_several_words_is_dropped(tmp_path):
    """The reader answered "Who is the boss of the hospital group?" with "CASTLEBURY": the
    dateline "CASTLEBURY (Northern Wire) —" was left in the sentence."""
    doc = loaded(
        tmp_path, "a.txt", "CASTLEBURY (Northern Wire) — Hospitals cancelled 430 operations.\n"
    )
    assert [doc.text[s:e] for s, e in doc.segments] == ["Hospitals cancelled 430 operations."]
    assert doc.dateline == "CASTLEBURY"


@pytest.mark.parametrize(
    "lines, outlet",
    [
        (
            ["By Eleanor Pike", "Brackenford Gazette, Published 14 October 2026"],
            "Brackenford Gazette",
        ),
        (["*Civic Ledger — 15 October 2026*"], "Civic Ledger"),
        (["By Darren Cole", "The Sentinel, Published 15 October 2026"], "The Sentinel"),
    ],
)
def test_a_line_naming_a_source_and_a_date_under_the_headline_gives_the_outlet(
    tmp_path, lines, outlet
):
    doc = loaded(
        tmp_path, "a.txt", "\n".join(["Council orders audit of tram deal", *lines, "", "The body."])
    )
    assert (doc.outlet, doc.date[:7]) == (outlet, "2026-10")
    assert [doc.text[s:e] for s, e in doc.segments] == [
        "Council orders audit of tram deal",
        "The body.",
    ]


def test_a_capitalised_word_joined_by_a_hyphen_is_no_dateline(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("A BALACLAVA-clad gang abseiled through a museum roof.\n")
    doc = load_document(path, "a.txt", 1000)
    assert [doc.text[s:e] for s, e in doc.segments] == [path.read_text().strip()]
    assert doc.dateline is None


def test_segments_point_into_the_original_text(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(" date 2024-01-02 BEIRUT — (AP) — First sentence here.\n\nSecond line.\n")
    doc = load_document(path, "a.txt", 1000)
    assert doc.text == path.read_text()
    assert [doc.text[s:e] for s, e in doc.segments] == ["First sentence here.", "Second line."]


def test_html_is_reduced_to_article_text_and_metadata(tmp_path):
    doc = loaded(
        tmp_path,
        "page.html",
        "<html><head><title>Ignored</title><meta property='og:title' content='Rebels near Hama'>"
        "<meta property='og:site_name' content='Example News'>"
        "<meta property='article:published_time' content='2024-12-03T10:00:00Z'>"
        "<script>alert('x')</script></head><body><nav>Home | World</nav>"
        "<article><h1>Rebels near Hama</h1><p>Rebels reached Hama on Tuesday.</p>"
        "<p>Thousands fled.</p></article><footer>© Example</footer></body></html>",
    )
    assert (doc.title, doc.outlet, doc.date) == ("Rebels near Hama", "Example News", "2024-12-03")
    text = content(doc)
    assert "Rebels reached Hama on Tuesday." in text and "Thousands fled." in text
    assert "alert" not in doc.text and "Home | World" not in doc.text and "©" not in doc.text


def test_markdown_heading_is_the_title(tmp_path):
    doc = loaded(tmp_path, "note.md", "# Talks in Ankara\n\nOfficials met on Monday.\n")
    assert doc.title == "Talks in Ankara"


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        (b"x" * 2000, "larger than"),
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path, data, reason):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(SkipFile, match=reason):
        load_document(path, "bad.txt", 1000)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Dec 02, 2024", "2024-12-02"),
        ("December 2, 2024", "2024-12-02"),
        ("2 December 2024", "2024-12-02"),
        ("2024-12-05", "2024-12-05"),
        ("2026-03-16T18:20:00Z", "2026-03-16"),
        ("March 17th, 2026", "2026-03-17"),
        ("17/03/2026 06:30", "2026-03-17"),
        ("17 Mar 2026, 00:41", "2026-03-17"),
        ("March 17, 2026 2:05 PM GMT", "2026-03-17"),
        ("03/04/2026", None),  # the 3rd of April or the 4th of March: no date
        ("2024-12-05 The army said it had taken the town", None),
        ("soon", None),
    ],
)
def test_dates_in_common_forms(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    "byline, outlet, date",
    [
        ("By Harbour Times staff — Monday 10 March 2025", "Harbour Times", "2025-03-10"),
        (
            "**By the Coastal Herald business desk — Tuesday 11 March 2025**",
            "Coastal Herald",
            "2025-03-11",
        ),
        (
            "By Owen Tremaine, Meridian Press Agency — 11 March 2025",
            "Meridian Press Agency",
            "2025-03-11",
        ),
        ("By Ann Lee — March 3, 2024", None, "2024-03-03"),  # a person names no outlet
        ("By Ann Lee, chief reporter | 2024-01-02", None, "2024-01-02"),
        (
            "By Joanna Pell | Kestlewick Mercury | Tuesday 10 February 2026",
            "Kestlewick Mercury",
            "2026-02-10",
        ),
        ("By Ann Lee · Health Correspondent · March 12, 2026", None, "2026-03-12"),  # a role
        ("By Regional Tribune — Friday 5 September 2025", "Regional Tribune", "2025-09-05"),
    ],
)
def test_a_dated_byline_gives_the_outlet_and_date_and_is_not_content(
    tmp_path, byline, outlet, date
):
    doc = loaded(
        tmp_path, "a.txt", f"Headline of the story\n{byline}\n\nThe body says what happened.\n"
    )
    assert (doc.outlet, doc.date) == (outlet, date)
    assert "By " not in content(doc) and "The body says what happened." in content(doc)


def test_a_sentence_starting_with_by_is_no_byline(tmp_path):
    doc = loaded(
        tmp_path,
        "a.txt",
        "Headline\n\nBy the way — the mayor said on Monday that buses would run.\n",
    )
    assert doc.date is None and "By the way" in content(doc)


def test_a_masthead_names_the_outlet_and_page_furniture_is_no_content(tmp_path):
    doc = loaded(
        tmp_path,
        "a.txt",
        "THE HARWICK COURIER\nYour city. Your paper. Since 1887.\n-----------\n"
        "HEALTH | Harwick\n\nCity student among patients hit by pump fault\n\n"
        "Hannah Delacourt, Health Reporter\nPublished: 17/03/2026 06:30\n\n"
        "A student was found unconscious in his flat, his family said.\n",
    )
    assert (doc.outlet, doc.date) == ("The Harwick Courier", "2026-03-17")
    assert doc.title == "City student among patients hit by pump fault"
    assert content(doc).splitlines() == [
        "City student among patients hit by pump fault",
        "A student was found unconscious in his flat, his family said.",
    ]


def test_a_headline_in_capitals_is_no_masthead(tmp_path):
    doc = loaded(
        tmp_path, "a.txt", "FLOOD CHAOS IN THE CITY\n\nThe river burst its banks on Monday.\n"
    )
    assert doc.outlet is None and doc.title == "FLOOD CHAOS IN THE CITY"


def test_a_markdown_source_line_and_a_date_beside_the_byline(tmp_path):
    doc = loaded(
        tmp_path,
        "a.md",
        "# How a restart routine turned a fix into a double dose\n\n"
        "*Device Regulatory Review — Software & Connected Devices*\n\n"
        "**March 17th, 2026** · by Dr Owen Strathearn, senior technical editor · 7 min read\n\n"
        "The pump repeats the last dose after a restart.\n",
    )
    assert (doc.outlet, doc.date) == ("Device Regulatory Review", "2026-03-17")
    assert content(doc).splitlines()[1:] == ["The pump repeats the last dose after a restart."]


def test_an_html_page_title_names_its_site_and_a_footer_dates_it(tmp_path):
    doc = loaded(
        tmp_path,
        "a.html",
        "<html><head><title>KILLER GLITCH: Pump blunder puts thousands at risk | Daily Clarion"
        "</title></head><body><article><h1>KILLER GLITCH</h1><p>Thousands were told to stop "
        "using their pumps.</p><p>Published: 17 Mar 2026, 00:41 | Updated: 18 Mar 2026, 07:15"
        "</p></article></body></html>",
    )
    assert (doc.outlet, doc.date, doc.updated) == ("Daily Clarion", "2026-03-17", "2026-03-18")
    assert doc.title == "KILLER GLITCH: Pump blunder puts thousands at risk"
    assert "Published" not in content(doc)


def test_an_updated_page_says_when_it_was_updated(tmp_path):
    doc = loaded(
        tmp_path,
        "a.html",
        '<html><head><meta property="og:site_name" content="Pellham Wire">'
        '<meta property="article:published_time" content="2026-03-16T18:20:00Z">'
        '<meta property="article:modified_time" content="2026-03-17T14:05:00Z">'
        "<title>UPDATE 1-Pump fault linked to 23 admissions</title></head>"
        "<body><article><p>Admissions rose to 23.</p></article></body></html>",
    )
    assert (doc.outlet, doc.date, doc.updated) == ("Pellham Wire", "2026-03-16", "2026-03-17")


def test_short_sentences_opening_an_article_are_its_text_not_a_slogan(tmp_path):
    doc = loaded(tmp_path, "a.md", "Rebels took Hama. The U.N. envoy spoke.\n\nTalks resumed.\n")
    assert content(doc).splitlines() == [
        "Rebels took Hama. The U.N. envoy spoke.",
        "Talks resumed.",
    ]
