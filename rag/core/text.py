"""Text primitives shared by every stage: sentence spans, content words, numbers."""

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import Stemmer

_LEXICON = json.loads((Path(__file__).with_name("lexicon.json")).read_text(encoding="utf-8"))
_ABBREVIATIONS = frozenset(_LEXICON["abbreviations"])
# A sentence ends at . ! or ? (plus closing quotes/brackets) before whitespace.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_OPENERS = "\"'“‘([A-Z0-9"
_WORD = re.compile(r"[^\W_][\w.'’\-]*")  # letters of any script; accents folded by words()
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_SCALED = re.compile(
    r"(\d+(?:[.,]\d+)*)\s*(thousand|million|billion|trillion)\b"
    # "£4.1m", "$2bn", "€500k": a scale letter only after a currency sign ("20m" may be metres)
    r"|(?<=[£$€¥])(\d+(?:[.,]\d+)*)(k|m|bn|tn)\b",
    re.IGNORECASE,
)
_SCALE_LETTERS = {"k": "thousand", "m": "million", "bn": "billion", "tn": "trillion"}
# Hand-written rather than text2num's alpha2digit: measured on news phrasing it turns "tens of
# thousands" into "10 of 1000", "3 million" into "3 1000000" and "half a million" into
# "half a 1000000", each a wrong number for the verifier; this table and the scale rule below
# read those as no number, 3,000,000 and 500,000.
NUMBER_WORDS: dict[str, int] = _LEXICON["number_words"]
# bm25s's English list (NLTK's) plus the words news repeats in every article ("said", "says",
# "also", "would"...), which carry no content; measured with `rag eval` (README, issue 12 note).
STOPWORDS = frozenset(_LEXICON["stopwords"]) | frozenset(_LEXICON["extra_stopwords"])

NEGATIONS = frozenset(_LEXICON["negations"])
QUANTITY_WORDS = frozenset(_LEXICON["quantity_words"])
CALENDAR_WORDS = frozenset(_LEXICON["calendar_words"])
TIME_WORDS = frozenset(_LEXICON["time_words"])  # "last week", "earlier this month"
EXTENT_WORDS = frozenset(_LEXICON["extent_words"])  # "for two decades"
BOUNDS: dict[str, list[str]] = _LEXICON["bounds"]
PERCENT_WORDS: list[str] = _LEXICON["percent_words"]
AGE_MARKERS: list[str] = _LEXICON["age_markers"]
IRREGULAR_PAST = frozenset(_LEXICON["irregular_past"])
APPROXIMATORS = frozenset(_LEXICON["approximators"])
LABELLING_VERBS: list[str] = _LEXICON["labelling_verbs"]
SPEECH_VERBS = frozenset(_LEXICON["speech_verbs"])
ORGANISATION_WORDS = frozenset(_LEXICON["organisation_words"])  # "... Royal Infirmary"
HONORIFICS = frozenset(_LEXICON["honorifics"])  # "Dr", "Mrs": part of a name
BYLINE_ROLES = frozenset(_LEXICON["byline_roles"])  # "By Ann Lee | Health Correspondent | ..."
OUTLET_NOUNS = frozenset(_LEXICON["outlet_nouns"])  # "THE CALLOWMERE COURIER": a masthead
MONEY_VERBS = frozenset(_LEXICON["money_verbs"])  # "How much will it cost?"
MONEY_NOUNS = frozenset(_LEXICON["money_nouns"])  # "How much compensation...?"
CURRENCY_SIGNS = frozenset(w for w in _LEXICON["currency_words"] if not w.isalpha())
CURRENCY_WORDS = frozenset(w for w in _LEXICON["currency_words"] if w.isalpha())
STANCE_VERBS = frozenset(_LEXICON["stance_verbs"])  # "What does she want?": what she said
OPPOSITE_FUNCTION_WORDS: dict[str, list[str]] = _LEXICON["opposite_function_words"]
_NOTES = _LEXICON["editorial_notes"]
_NOTE_NOUN = "(?:" + "|".join(_NOTES["nouns"]) + ")"
_EDITORIAL_NOTE = re.compile(
    rf"^\W*(?:(?:this|our)\s+{_NOTE_NOUN}\s+(?:was|has\s+been|had\s+been|is\s+being|have\s+been|"
    r"were)\s+(?:" + "|".join(_NOTES["verbs"]) + r")\b"
    rf"|(?:an\s+earlier|a\s+previous|the\s+original)\s+version\s+of\s+(?:this|our)\s+{_NOTE_NOUN}\b"
    r"|(?:" + "|".join(re.escape(label) for label in _NOTES["labels"]) + r")\s*:)",
    re.IGNORECASE,
)
# a clause ends at a semicolon or a comma before a conjunction (a dash often opens an aside)
_CLAUSE_END = re.compile(
    r"\s*(?:;\s+|,\s+(?:" + "|".join(_LEXICON["clause_openers"]) + r")\s+)", re.IGNORECASE
)
_RELATIVE = re.compile(r",\s+(?:" + "|".join(_LEXICON["relative_openers"]) + r")\s+", re.IGNORECASE)
_COMMA_BREAK = re.compile(r",\s")  # a comma that ends a clause, not the one in "1,000"
_ATTRIBUTION = re.compile(r"[a-z]+(?:ed|en|wn)\s+by\b")  # "as noted by", "as shown by"
_LEAD_IN = re.compile(
    r"(?:" + "|".join(re.escape(p) for p in _LEXICON["discourse_openers"]) + r"),\s+", re.IGNORECASE
)
# Units of measure: dimension and size in the dimension's base unit (metre, kilogram, ...).
UNITS: dict[str, tuple[str, float]] = {k: (v[0], v[1]) for k, v in _LEXICON["units"].items()}
_UNIT_NAMES = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_MEASURE = re.compile(
    rf"(\d+(?:[.,]\d+)*)\s*(?:-\s*)?(square\s+|sq\.?\s+)?({_UNIT_NAMES})(?![A-Za-z])",
    re.IGNORECASE,
)
_UNIT_AFTER = re.compile(rf"\s*(?:-\s*)?({_UNIT_NAMES})(?![A-Za-z])", re.IGNORECASE)
_NUMBER_WORD = re.compile(
    r"\b(?:" + "|".join(w for w, n in NUMBER_WORDS.items() if n < 100) + r")\b", re.IGNORECASE
)

_stemmer = Stemmer.Stemmer("english")
_IRREGULAR: dict[str, str] = _LEXICON["irregular_forms"]


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split text[start:end] into sentences; return (start, end) offsets, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _END.finditer(text, start, end):
        stop = match.end()
        if not _is_sentence_end(text, match.start(), stop, end):
            continue
        _append_trimmed(text, cursor, stop, spans)
        cursor = stop
    _append_trimmed(text, cursor, end, spans)
    return spans


def _is_sentence_end(text: str, dot: int, stop: int, limit: int) -> bool:
    following = text[stop:limit].lstrip()
    if not following or following[0] not in _OPENERS and not following[0].isupper():
        return False
    if text[dot] != ".":
        return True
    word = re.search(r"([A-Za-z.]+)$", text[max(0, dot - 12) : dot])
    if not word:
        return True
    token = word.group(1).lower().strip(".")
    if token in _ABBREVIATIONS:
        return False
    # An initial such as "J." or the inside of "U.N." is not an end.
    return not (len(token) == 1 and word.group(1)[-1:].isupper())


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


_INNER_MARKS = str.maketrans("", "", ".'’")


# "Some names have been changed.", "...everyone named here are invented.", "a work of fiction"
_FICTION_NOTE = re.compile(
    r"\bnames?\b[^.;]*?\b(?:have|has)\s+been\s+changed\b"
    r"|\b(?:names?|everyone|everybody|people|characters)\b[^.;]*?\b(?:are|is|were|was|have\s+been|"
    r"has\s+been)\s+(?:invented|fictional|fictitious|made\s+up)\b"
    r"|\bthis\s+is\s+a\s+work\s+of\s+fiction\b|:\s*(?:a\s+)?fictional\s+\w+\.?\s*$",
    re.IGNORECASE,
)


def is_editorial_note(sentence: str) -> bool:
    """A sentence about the article itself, not the news: "This story was updated on Thursday
    with the second death...", "Correction: an earlier version of this article...", "Some
    names have been changed."."""
    return bool(_EDITORIAL_NOTE.match(sentence) or _FICTION_NOTE.search(sentence))


_WH_IS = re.compile(r"\b(what|who|where|how|when|why)['’]s\b", re.IGNORECASE)


def without_wh_contraction(question: str) -> str:
    """ "What's the outlook?" as "What is the outlook?"."""
    return _WH_IS.sub(r"\1 is", question)


def words(text: str) -> list[str]:
    """Lower-cased word tokens, dots and apostrophes inside words removed (U.N. -> un),
    accents folded (Wójcik -> wojcik: a question may be typed without them)."""
    return [w.translate(_INNER_MARKS).lower().strip("-") for w in _WORD.findall(fold(text))]


def fold(text: str) -> str:
    """The text without accents ("Wójcik" -> "Wojcik"); other characters kept."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The English stem of one lower-case word (irregular verb forms folded to their base)."""
    return _stemmer.stemWord(_IRREGULAR.get(word, word))


def content_terms(text: str) -> list[str]:
    """Stems of the words that carry content (no stopwords, no one-letter tokens)."""
    return list(_content_terms(text))


@lru_cache(maxsize=65536)
def _content_terms(text: str) -> tuple[str, ...]:
    # The same passages' sentences are scored question after question.
    return tuple(stem(w) for w in words(text) if w and w not in STOPWORDS and len(w) > 1)


_HOW_WHAT = re.compile(
    r"\b(how)\s+(?:many|much|long|far|old|often|soon|big|large|high|tall|deep|wide|heavy|fast|"
    r"early|late)\b",
    re.IGNORECASE,
)


def without_question_form(question: str) -> str:
    """The question without the word that only says what kind of answer it wants ("How many
    drivers went on strike?" -> "How drivers went on strike?"): "many" is no word to look for
    in the articles ("Many commuters walked...")."""
    return _HOW_WHAT.sub(r"\1", question)


def numbers(text: str) -> set[float]:
    """Every number the text states, in digits or words ("five" -> 5, "20km" -> 20, "3 million"
    and "three million" -> 3,000,000)."""
    found = {value for _, _, value in _scaled(text)}
    rest = _SCALED.sub(" ", text)
    found |= {float(n.replace(",", "")) for n in _NUMBER.findall(rest) if _is_number(n)}
    parts = [part for word in words(rest) for part in word.split("-")]
    value: float | None = None
    for previous, part in zip([""] + parts, parts):
        if part not in NUMBER_WORDS:
            value = None
            continue
        if part in _SCALES and value is not None:  # "two million": one number, not two
            found.discard(value)
            value *= _SCALES[part]
        elif (
            value is not None
            and 20 <= value <= 90
            and value % 10 == 0
            and 1 <= NUMBER_WORDS[part] <= 9
        ):
            found.discard(value)  # "thirty-eight", "twenty one": one number
            value += NUMBER_WORDS[part]
        else:
            scale = 0.5 if previous == "half" or previous == "a" and "half" in parts else 1
            value = float(NUMBER_WORDS[part]) * scale
        found.add(value)
    return found


def measures(text: str) -> list[tuple[float, str, float]]:
    """Numbers stated with a unit of measure: (number, dimension, size in the base unit), so
    that "11 miles" and "18km" compare as (nearly) one distance."""
    return [(number, dimension, value) for _, _, number, dimension, value in measure_spans(text)]


def measure_spans(text: str) -> list[tuple[int, int, float, str, float]]:
    """measures() with where each stands: (start, end, number, dimension, base-unit value)."""
    found = []
    for m in _MEASURE.finditer(text):
        if not _is_number(m.group(1)):
            continue
        dimension, size = UNITS[m.group(3).lower()]
        if m.group(2):  # "square miles": an area
            if dimension != "length":
                continue
            dimension, size = "area", size * size
        number = float(m.group(1).replace(",", ""))
        found.append((m.start(), m.end(), number, dimension, number * size))
    return found


def unit_at(text: str) -> tuple[int, str, float] | None:
    """The unit of measure text starts with (after spaces or a hyphen): (its length,
    dimension, size in the base unit), for a number written as a word ("one mile")."""
    m = _UNIT_AFTER.match(text)
    if not m:
        return None
    dimension, size = UNITS[m.group(1).lower()]
    return m.end(), dimension, size


def number_spans(text: str) -> list[tuple[int, int, float]]:
    """Numbers in digits ("1,240", "2.3 million") or a single word ("twelve"), with where
    each stands."""
    found = _scaled(text)
    for m in _COMPOUND.finditer(text):  # "thirty-eight": 38, not 30 and 8
        tens, units = (NUMBER_WORDS[w.lower()] for w in m.groups())
        found.append((m.start(), m.end(), float(tens + units)))
    taken = [(a, b) for a, b, _ in found]
    for m in re.finditer(r"(?<![\w.,])\d+(?:[.,]\d+)*", text):
        if _is_number(m.group(0)) and all(m.end() <= a or m.start() >= b for a, b in taken):
            found.append((m.start(), m.end(), float(m.group(0).replace(",", ""))))
    for m in _NUMBER_WORD.finditer(text):
        if all(m.end() <= a or m.start() >= b for a, b in taken):
            found.append((m.start(), m.end(), float(NUMBER_WORDS[m.group(0).lower()])))
    return sorted(found)


_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_COMPOUND = re.compile(
    rf"\b({_TENS})[-\s](one|two|three|four|five|six|seven|eight|nine)\b", re.IGNORECASE
)


def _scaled(text: str) -> list[tuple[int, int, float]]:
    """Numbers with a scale word or, after a currency sign, a scale letter ("2.3 million",
    "£4.1m"), with where each stands."""
    found = []
    for m in _SCALED.finditer(text):
        number, scale = (m.group(1) or m.group(3)), (m.group(2) or m.group(4)).lower()
        if _is_number(number):
            value = float(number.replace(",", "")) * _SCALES[_SCALE_LETTERS.get(scale, scale)]
            found.append((m.start(), m.end(), value))
    return found


def _is_number(token: str) -> bool:
    try:
        float(token.replace(",", ""))
        return True
    except ValueError:
        return False


def proper_names(text: str) -> set[str]:
    """Capitalised words not at a sentence start, lower-cased: the names a claim relies on."""
    names = set()
    tokens = _WORD.findall(fold(text))
    for i, token in enumerate(tokens):
        if i == 0 or not token[0].isupper():
            continue
        word = re.sub(r"[.'’]", "", token).lower()
        if word not in STOPWORDS and len(word) > 1:
            names.add(word)
    return names


def is_past_tense(word: str) -> bool:
    """A past-tense verb, by its form ("fell", "reported"): no part-of-speech tagger needed."""
    return word in IRREGULAR_PAST or (len(word) > 4 and word.endswith("ed"))


# Where a sentence joins two statements: a clause's end (_CLAUSE_END), or "and"/"but" before a
# verb ("managers laid on minibuses and postponed operations", "and had sent her staff home")
_STATEMENT_JOIN = re.compile(r"\s+(?:and|but)\s+(?:then\s+)?(?=([a-z]+)\b)")
_AUXILIARIES = frozenset({"had", "has", "have", "was", "were", "is", "are", "would", "will"})


def statement_pieces(text: str) -> list[str]:
    """The statements a sentence joins: its clauses, each cut again at "and" or "but" before a
    verb in the past tense or an auxiliary. A list of nouns ("trams and buses") stays whole."""
    clauses = [text[a:b] for a, b in clause_spans(text, shortest=3)] or [text]
    pieces = []
    for clause in clauses:
        begin = 0
        for join in _STATEMENT_JOIN.finditer(clause):
            verb = join.group(1)
            if is_past_tense(verb) or verb in _AUXILIARIES:
                pieces.append(clause[begin : join.start()])
                begin = join.end()
        pieces.append(clause[begin:])
    return [p.strip() for p in pieces if p.strip()]


def clause_spans(text: str, shortest: int = 5) -> list[tuple[int, int]]:
    """The clauses of a sentence as (start, end) offsets into it, each without its conjunction
    or a discourse opener ("In contrast, rebels said..." -> "rebels said..."), never inside a
    quotation ('"..., but people acted quickly," she said.' is one); a piece of
    fewer than `shortest` words stays with the clause before it (a list's last item: "...,
    and Russia"), as does an attribution ("..., as noted by the envoy"); none when that is the
    whole sentence."""
    stop = len(text.rstrip(" .!?\"'”’"))
    pieces: list[tuple[int, int]] = []
    begin, carried = 0, None
    cuts = [  # ", as well as": a list goes on; a quotation is said whole
        cut
        for cut in _CLAUSE_END.finditer(text, 0, stop)
        if not text.startswith("well as ", cut.end()) and not _inside_quotation(text, cut.start())
    ]
    for cut in [*cuts, None]:
        end = cut.start() if cut else stop
        lead = _LEAD_IN.match(text, begin, end)
        start = lead.end() if lead else begin
        if len(text[start:end].split()) < shortest or _ATTRIBUTION.match(text, start, end):
            if pieces:
                pieces[-1] = (pieces[-1][0], end)
            elif carried is None:
                carried = begin
        else:
            pieces.append((carried if carried is not None else start, end))
            carried = None
        begin = cut.end() if cut else stop
    if carried is not None and pieces:  # only short pieces after the first: one clause
        pieces[-1] = (pieces[-1][0], stop)
    return [] if pieces in ([], [(0, stop)]) else pieces


def _inside_quotation(text: str, at: int) -> bool:
    before = text[:at]
    return before.count("“") > before.count("”") or before.count('"') % 2 == 1


def relative_pieces(text: str, shortest: int = 5) -> list[str]:
    """A clause's relative clauses and what it says without them ("The authority, which runs
    six tram lines, said only Line 2 was running" -> "runs six tram lines", "The authority said
    only Line 2 was running"), each of at least `shortest` words; none when it has no
    relative clause after a comma."""
    cuts = list(_RELATIVE.finditer(text))
    if not cuts:
        return []
    pieces, main, kept = [], [], 0
    for cut in cuts:
        close = _COMMA_BREAK.search(text, cut.end())
        end = close.start() if close else len(text)
        pieces.append(text[cut.end() : end])
        main.append(text[kept : cut.start()])
        kept = close.end() - 1 if close else end  # " said only...": the clause goes on
    main.append(text[kept:])
    pieces.append("".join(main))
    return [p.strip(" ,.") for p in pieces if len(p.split()) >= shortest]


def line_of(text: str, offset: int) -> int:
    """1-based line number of a character offset."""
    return text.count("\n", 0, offset) + 1


# "the company", "the firm's": an organisation named by what it is
THE_ORGANISATION = re.compile(
    r"\bthe\s+(?P<noun>" + "|".join(sorted(ORGANISATION_WORDS)) + r")\b(?P<own>['’]s)?",
    re.IGNORECASE,
)


def is_organisation(name: str) -> bool:
    """Is this name an organisation's ("Castlebury Royal Infirmary", "Tessaly Systems'"), by the
    word it ends with, never a "he" or "she"?"""
    last = re.sub(r"['’]s?$", "", name.split()[-1]).lower() if name.split() else ""
    return last in ORGANISATION_WORDS
