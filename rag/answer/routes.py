"""What kind of question this is, from its form alone (generic English, no topic words):
a factoid gets a short cited answer; an open or summary request a cited multi-source summary
of what is relevant; a comparison request the relevant part of the cross-source view."""

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Literal

from rag.answer.entailment import load_lexicon
from rag.answer.versions import without_version
from rag.core.text import (
    AGE_MARKERS,
    CALENDAR_WORDS,
    CURRENCY_SIGNS,
    CURRENCY_WORDS,
    EXTENT_WORDS,
    MONEY_NOUNS,
    MONEY_VERBS,
    NUMBER_WORDS,
    ORGANISATION_WORDS,
    QUANTITY_WORDS,
    SPEECH_VERBS,
    STANCE_VERBS,
    STOPWORDS,
    TIME_WORDS,
    UNITS,
    content_terms,
    is_organisation,
    measure_spans,
    numbers,
    unit_at,
    without_wh_contraction,
    words,
)

Route = Literal["factoid", "open", "summary", "compare"]

_SUMMARY = re.compile(
    r"^\s*(?:please\s+|can you\s+|could you\s+)?(?:summari[sz]e|sum up|give (?:me )?(?:a |an )?"
    r"(?:summary|overview|rundown)|overview of|what is the summary)\b",
    re.IGNORECASE,
)
_SOURCES = r"(?:outlets|sources|articles|reports|media|papers|agencies|newspapers|accounts)"
_DIFFER = (
    r"(?:differ|differs|differed|difference|differences|disagree|disagreed|disagreement|agree|"
    r"agreed|contradict|contradicts|contradiction|conflicting|discrepancy|discrepancies)"
    # not "conflict": in war news it names the war ("What do reports say about the conflict?")
)
_COMPARE = re.compile(
    # "Compare how the outlets...", "a comparison of the reports"; not "What did the manager
    # compare the penalty to?", whose answer is one thing
    r"^\W*(?:(?:please|can you|could you)\s+)?(?:compare|contrast)\b"
    r"|\b(?:compare|comparison|contrast)\b.*\b(?:" + _SOURCES + r"|coverage|reporting)\b"
    r"|\bhow do (?:the |different )?" + _SOURCES + r"\b"
    r"|\b" + _DIFFER + r"\b.*\b" + _SOURCES + r"\b|\b" + _SOURCES + r"\b.*\b" + _DIFFER + r"\b",
    re.IGNORECASE,
)
# "How did the reported death toll change as the story developed?": what changed between
# versions of a story, or between reports; a change verb and a word for the reporting itself.
_CHANGE_VERB = re.compile(
    r"\b(?:chang(?:e|ed|es|ing)|evolv(?:e|ed|es|ing)|develop(?:ed|s|ing)?|revis(?:e|ed|ion|ions)|"
    r"updat(?:e|ed|es|ing)|correct(?:ed|ion|ions))\b",
    re.IGNORECASE,
)
_REPORTING = re.compile(
    r"\b(?:report|reports|reported|story|stories|version|versions|coverage|account|accounts|"
    r"article|articles|outlet|outlets)\b",
    re.IGNORECASE,
)


def asks_where_sources_differ(question: str) -> bool:
    """Does the question ask whether or where the sources agree ("Do the sources agree on the
    death toll?"), which the figures they state differently answer first?"""
    return bool(re.search(r"\b" + _DIFFER + r"\b", question, re.IGNORECASE))


# "the revised number", "Crossline's updated report": a version named, no change asked about
_CHANGED_THING = re.compile(
    r"\b(?:the|a|an|its|their|his|her|this|that|[\w-]+['’]s)\s+(?:updated|revised|corrected)\s+"
    r"(?=[a-z])",
    re.IGNORECASE,
)


def asks_what_changed(question: str) -> bool:
    """Does the question ask how the reporting changed ("How did the reported death toll change
    as the story developed?"), which story versions and differing figures answer? Not when it
    only names a version ("What is the revised figure in the updated report?")."""
    verbs = _CHANGED_THING.sub(" ", without_version(question))  # "in the update" names one
    return bool(_CHANGE_VERB.search(verbs) and _REPORTING.search(question))


_OPEN = re.compile(
    r"^\s*(?:why\b"
    r"|what (?:is|was|are|were) (?:the |their |its |his |her |(?:[\w-]+\s+){0,3}[\w-]+['’]s\s+)?"
    r"(?:role|situation|impact|"
    r"significance|state|position|reason|reasons|background|context|response|reaction|"
    r"consequences?|effects?|outlook|stance|view|views|story|latest(?=\W*$|\W*(?:on|about|in|from|news)\b))\b"
    r"|what (?:happened|happens|is happening|is going on|led to|caused|"
    r"(?:will|would|could|is going to) happen)\b"
    r"|describe|explain|tell me about|what do (?:we|the (?:articles|sources)) know)",
    re.IGNORECASE,
)


# What the short answer of a question must look like, from its wh-word alone.
_LEAD_IN = r"^\s*(?:(?:in|on|at|for|from|to|by|with|of|since|until|after|before|and|so)\s+)?"
_WANTS_NUMBER = re.compile(
    _LEAD_IN + r"(?:how (?:many|old|far|large|big|high|tall|deep|often)|what (?:percentage|"
    r"proportion|share|number|amount))\b",
    re.IGNORECASE,
)
# "How long did the strike last?", "How long is the bridge?": a duration or a length
_WANTS_EXTENT = re.compile(_LEAD_IN + r"how long\b", re.IGNORECASE)
_EXTENT_UNITS = frozenset(u for u, (kind, _) in UNITS.items() if kind in ("duration", "length"))
_EXTENT_WORDS = _EXTENT_UNITS | EXTENT_WORDS
_WANTS_TIME = re.compile(
    _LEAD_IN + r"(?:when|(?:what|which) (?:years?|dates?|times?|days?|months?))\b", re.IGNORECASE
)
# "On which days...?", "What year...?": a number or a day or month's name, not just any name
_WANTS_DATE = re.compile(
    _LEAD_IN + r"(?:what|which) (?:years?|dates?|days?|months?)\b", re.IGNORECASE
)
_WANTS_NAME = re.compile(_LEAD_IN + r"(?:who|whom|whose|which)\b", re.IGNORECASE)
_WANTS_YEAR = re.compile(_LEAD_IN + r"(?:what|which) year\b", re.IGNORECASE)
_YEAR = re.compile(r"(?<![\d,.])(?:1\d{3}|20\d\d)(?:s|['’]s)?(?![\d,])")  # "2009", "1990s"


_WANTS_SHARE = re.compile(_LEAD_IN + r"what (?:percentage|proportion|share)\b", re.IGNORECASE)
_ASKS_WHO = re.compile(_LEAD_IN + r"(?:who|whom)\b", re.IGNORECASE)
_WHO_IS_NAMED = re.compile(  # "Who was Anas Alkharboutli?", "Who is Abu Mohammed al-Golani?"
    r"^\s*(?i:who(?:['’]s|\s+(?:is|was|are|were)))\s+"
    r"(?P<name>[A-Z][\w'’.-]*(?:\s+(?:al-|bin\s+|de\s+)?[A-Z][\w'’.-]*)*)\s*\??\s*$"
)


def who_is_named(question: str) -> str | None:
    """The name a "Who is <a name>?" question asks about ("Gwen Hartigan"), else None."""
    found = _WHO_IS_NAMED.match(question)
    return found.group("name") if found else None


def asks_who_unnamed(question: str) -> bool:
    """Does the question ask who someone is that it does not name ("Who chairs the trust?",
    not "Who is Gwen Hartigan?")?"""
    return bool(_ASKS_WHO.search(question)) and not _WHO_IS_NAMED.match(question)


def names_no_one(question: str, span: str) -> bool:
    """Is the span only a number ("52", an age) where the question asks who? Not when it asks
    who a named person is ("Who was Anas Alkharboutli?": "32" leads a fair description)."""
    if not asks_who_unnamed(question):
        return False
    left = [w for w in words(span) if not w.isdigit() and w not in NUMBER_WORDS]
    return bool(numbers(span)) and not left


def wants_name(question: str) -> bool:
    """Does the question ask "who" or "which"?"""
    return bool(_WANTS_NAME.search(question))


_INITIAL = re.compile(r"(?:^|\s)(?:al-|el-)?([A-Z])")


def repeats_question(question: str, span: str) -> bool:
    """Is the span only words the question itself uses, as it uses them ("a consultant" for
    "What is the name of the consultant who...?")? Never an answer. ("randomized" does answer
    "What are algorithms that use random bits called?": unlike `echoes`, no stemming.)"""
    said = {w for w in words(span) if w not in STOPWORDS}
    return bool(said) and said <= set(words(question))


def echoes(question: str, span: str) -> bool:
    """Is the span only what the question already names: its own words, or the name its
    acronym stands for ("Hayat Tahrir al-Sham" for "Who leads HTS?")? Never the answer to
    "who" or "which"."""
    said = set(content_terms(span))
    if said and said <= set(content_terms(question)):
        return True
    initials = "".join(_INITIAL.findall(span))
    return len(initials) >= 2 and bool(re.search(rf"\b{initials}\b", question))


def wants_amount(question: str) -> bool:
    """Does the question ask for a number or a time ("How old...?", "When...?"), which a span
    without one cannot answer? ("Who...?" may be answered by a common noun: "civilians".)"""
    clause = "," in question
    return bool(_WANTS_NUMBER.search(question) or _WANTS_EXTENT.search(question)) or (
        bool(_WANTS_TIME.search(question)) and not clause
    )


_WHICH_NOUN = re.compile(_LEAD_IN + r"which\s+[a-z]", re.IGNORECASE)


def asks_which(question: str) -> bool:
    """Does the question ask "which <noun>" ("Which photographer was killed...?")?"""
    return bool(_WHICH_NOUN.search(question))


_WHICH_WORD = re.compile(_LEAD_IN + r"which\s+([a-z][\w-]*)", re.IGNORECASE)


def which_noun(question: str) -> str | None:
    """The noun a "which" question asks about ("Which reservoir ...?": reservoir)."""
    found = _WHICH_WORD.search(question)
    return found.group(1).lower() if found else None


_ORDINAL = re.compile(
    r"\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
    r"\w+teenth|\w+tieth|hundredth|thousandth|millionth)\b",
    re.IGNORECASE,
)


def is_extent(span: str) -> bool:
    """Does the span say how long: a counted unit of time or length ("48 hours", "a 24-year
    tenure", "one day", "several years", "1,230 km", "decades"), or since or until when
    ("since 2011")? Not a clock time ("4 a.m."), a bare number ("39") or "of the year"."""
    words = re.findall(r"[a-z]+|\d[\d,.]*", span.lower())
    counts = QUANTITY_WORDS | set(NUMBER_WORDS) | {"a", "an", "few", "some", "half"}
    for k, word in enumerate(words):
        if word not in _EXTENT_WORDS:
            continue
        before = words[max(0, k - 2) : k]
        if word.endswith("s") or any(w in counts or w[0].isdigit() for w in before):
            return True
    since = re.match(r"\W*(?:since|until|till)\b", span, re.IGNORECASE)
    return bool(since) or bool(re.fullmatch(r"\W*(?:1\d{3}|20\d\d)\W*", span))


def lead_fits(question: str, span: str, after: str = "") -> bool:
    """Can this span lead the answer? A "how many" question needs a number in it, a "when"
    question a number or a capitalised word (a day, a month), a "who" or "which" question a
    capitalised word (a name) or a number, unless the span holds the "which" noun itself
    ("which bound": "lower bounds"); other questions take any span. Measured on SQuAD's tuning
    articles: 1.7% of gold answers fail it (mostly common nouns answering "who"). `after`, the
    text that follows the span, tells "1.3" of "1.3 terabytes" from a count."""
    has_number = (
        bool(numbers(span))
        or bool(re.search(r"\d", span))
        or bool(_ORDINAL.search(span))
        or any(word in QUANTITY_WORDS for word in re.findall(r"[a-z]+", span.lower()))
    )
    has_name = any(  # "A spokesperson" has a capital and no name
        word.lower() not in STOPWORDS for word in re.findall(r"\b[A-Z][\w'’-]*", span)
    )
    if asks_money(question):  # "How much will it cost?" is not "about 30 per cent"
        return _is_money(span + after[:16])
    if asks_a_persons_name(question):  # "What is the name of the firefighter...?"
        return names_someone(span, besides=question) and not _names_only_bodies(span)
    which = re.search(r"\bwhich\s+([a-z]{3,})", question, re.IGNORECASE)
    if which and which.group(1).lower().rstrip("s") in span.lower():
        return True
    if _WANTS_EXTENT.search(question):
        return is_extent(span)
    if _WANTS_NUMBER.search(question):
        if _WANTS_SHARE.search(question) and _is_money(span + after[:16]):
            return False  # "What share of the joint venture...?" is not "£179 million"
        if asks_age(question) and not _could_be_an_age(span, after):
            return False  # "How old is she?" is not "620,000" people served
        return has_number and not _measures_another_thing(question, span, after)
    if _WANTS_YEAR.search(question):  # "In what year was it founded?" is not "Feb. 9"
        return bool(_YEAR.search(span)) or "year" in span.lower()
    if _WANTS_DATE.search(question):
        return has_number or any(w in CALENDAR_WORDS for w in re.findall(r"[a-z]+", span.lower()))
    clause = "," in question  # "When prices rise, what happens?": "when" opens a clause
    if _WANTS_TIME.search(question) and not clause:
        # a time: a date, a name (a day, a month) or "last week"; "first" alone is no time
        counted = bool(numbers(span)) or bool(re.search(r"\d", span))
        said = set(re.findall(r"[a-z]+", span.lower()))
        return counted or has_name or bool(said & (TIME_WORDS | CALENDAR_WORDS))
    if _WANTS_NAME.search(question):  # "Monday" or "the second time" names no one
        return bool(re.search(r"\d", span)) or names_someone(span)
    return True


# "how much" before a verb ("How much was it fined?"), not before what it measures ("How much
# weight did price carry?", "How much damage...?")
_HOW_MUCH = re.compile(
    r"\bhow much\s+(?:money\s+|cash\s+)?(?:is|was|are|were|will|would|did|does|do|has|have|had|"
    r"could|can|should|might|may)\b",
    re.IGNORECASE,
)


_ASKS_AGE = re.compile(_LEAD_IN + r"how old\b", re.IGNORECASE)
_AGE_AFTER = re.compile(r"^(?:" + "|".join(re.escape(m) for m in AGE_MARKERS) + r")", re.IGNORECASE)
_NAMED_BEFORE = re.compile(r"[A-Z][\w'’.-]*,\s*$")  # "Danny Quarshie, " before "31,"


def asks_age(question: str) -> bool:
    return bool(_ASKS_AGE.search(question))


OLDEST = 1000  # years: a larger number is no age, unless years are said ("4,000 years")


def _could_be_an_age(span: str, after: str) -> bool:
    said = numbers(span)
    return not said or min(said) <= OLDEST or "year" in (span + after[:12]).lower()


def asks_when(question: str) -> bool:
    """Does the question ask when, or for a date ("When did she join?", "What year...?")?"""
    return bool(_WANTS_TIME.search(question)) and "," not in question


def is_age_at(text: str, start: int, end: int) -> bool:
    """Is the number text[start:end] someone's age: "a 52-year-old", or set off after a name
    ("The club captain, Danny Quarshie, 31, said...")? Such a number answers no "when"."""
    if not re.fullmatch(r"\s*\d{1,3}\s*", text[start:end]):
        return False
    after = text[end:]
    return bool(_AGE_AFTER.match(after)) or (
        bool(_NAMED_BEFORE.search(text[:start])) and after.lstrip().startswith(",")
    )


_HOW_MUCH_OF = re.compile(r"\bhow much\s+([a-z-]+)(?:\s+([a-z]+))?", re.IGNORECASE)


def asks_money(question: str) -> bool:
    """Does the question ask how much something costs, was paid or fined ("How much was it
    fined?"), or how much of what is counted in money ("How much compensation...?")?"""
    if _HOW_MUCH.search(question) and set(words(question)) & MONEY_VERBS:
        return True
    found = _HOW_MUCH_OF.search(question)
    return found is not None and bool({(w or "").lower() for w in found.groups()} & MONEY_NOUNS)


def _is_money(text: str) -> bool:
    return any(sign in text for sign in CURRENCY_SIGNS) or bool(set(words(text)) & CURRENCY_WORDS)


def names_someone(span: str, besides: str = "") -> bool:
    """Does the span hold a name: a capitalised word that is no stopword or calendar word
    (nor a word of `besides`, the question: "Orrin Chemicals" names no spokesperson of it)?"""
    known = set(words(besides))
    return any(
        word.lower() not in STOPWORDS | CALENDAR_WORDS and words(word)[0] not in known
        for word in re.findall(r"\b[A-Z][\w'’-]*", span)
    )


_PROPER_NAME = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of\s+(?:the\s+)?)?[A-Z][\w'’-]*)*")


def _names_only_bodies(span: str) -> bool:
    """Is every name in the span an organisation's ("the University of Callowmere", "Averholt
    Medical Systems"), so that it names no person?"""
    names = [n for n in _PROPER_NAME.findall(span) if n.lower() not in STOPWORDS]
    # "University of X" is one; "Dr Miriam Aldgate of Averholt Medical Systems" names two
    parts = [
        part
        for name in names
        for part in (
            [name] if name.split()[0].lower() in ORGANISATION_WORDS else name.split(" of ")
        )
    ]
    return bool(parts) and all(
        is_organisation(p) or p.split()[0].lower() in ORGANISATION_WORDS for p in parts
    )


def persons_described(question: str) -> set[str]:
    """The nouns of persons a question for someone's name describes them by ("What is the
    name of the firefighter who...?", "Who is the chief executive of...?": "firefighter",
    "executive")."""
    asked = _NAME_OF.search(question) or _WHO_IS_THE.search(question)
    if not asked:
        return set()
    described = _DESCRIPTION_END.split(asked.group("described"))[0]
    return {word for word in words(described) if is_person_noun(word)}


_NAME_OF = re.compile(
    r"\b(?:what|which)(?:['’]s|\s+(?:is|was|are|were))\s+(?:the\s+|their\s+|his\s+|her\s+)?"
    r"(?:full\s+)?names?\s+of\s+(?P<described>[^?]+)",
    re.IGNORECASE,
)
_WHO_IS_THE = re.compile(
    r"^\s*(?:and\s+)?who(?:['’]s|\s+(?:is|was|are|were))\s+(?:the|their|his|her|its)\s+"
    r"(?P<described>[^?]+)",
    re.IGNORECASE,
)
_DESCRIPTION_END = re.compile(
    r"\b(?:who|whom|whose|that|which|where|when|at|in|on|for|from|with|of|by)\b", re.IGNORECASE
)


def asks_a_persons_name(question: str) -> bool:
    """Does the question ask for the name of a kind of person ("What is the name of the
    38-year-old firefighter who was hurt?"; not "...the name of the process that...")?"""
    return bool(persons_described(question))


def is_person_noun(word: str) -> bool:
    """Is the word a noun for a kind of person, singular or plural (WordNet's noun.person,
    most frequent sense: rag/core/wordnet.json)?"""
    nouns, plurals = _person_nouns()
    word = plurals.get(word, word)
    forms = {word}
    if word.endswith("s"):
        forms |= {word[:-1], word[:-2]}  # "-s", "-es"
    if word.endswith("ies"):
        forms.add(word[:-3] + "y")
    return bool(forms & nouns)


@lru_cache(maxsize=1)
def proper_adjectives() -> frozenset[str]:
    """WordNet's proper adjectives, lower case ("syrian", "andean")."""
    return frozenset(p.lower() for p in load_lexicon()["proper_adjectives"])


@lru_cache(maxsize=1)
def _person_nouns() -> tuple[frozenset[str], dict[str, str]]:
    found = load_lexicon()["person_nouns"]
    return frozenset(found["nouns"]), found["irregular_plurals"]


_HOW_MANY = re.compile(r"\bhow many\s+(?P<counted>(?:[\w'’-]+\s+){1,3})", re.IGNORECASE)


def counted_noun(question: str) -> str | None:
    """What a "how many" question counts ("How many residents slept...?": "residents")."""
    asked = _HOW_MANY.search(question)
    found = [w for w in words(asked.group("counted"))[:1] if w not in STOPWORDS] if asked else []
    return found[0] if found else None


def _measures_another_thing(question: str, span: str, after: str = "") -> bool:
    """Is the span a measure ("1.3 terabytes", or "1.3" before "terabytes") where "how many
    <things>" asks for a count of things that are no unit ("How many patients' records were
    stolen?")?"""
    asked = _HOW_MANY.search(question)
    if not asked or not (measure_spans(span) or numbers(span) and unit_at(after)):
        return False
    counted = re.findall(r"[a-z/]+", asked.group("counted").lower())
    return not any(word in UNITS for word in counted)


# Questions about a process or a manner ("How has the government responded?", "What is the
# council doing?", "What part have soldiers played?") and yes/no questions ("Were people warned
# in time?") want the relevant passages, not one span; "how many/much/old/..." stay factoids.
_YES_NO_FORM = r"(?:is|are|was|were|did|does|do|has|have|had|can|could|will|would|should)\s+\w"
_PROCESS = re.compile(
    r"^\s*(?:how (?:has|have|had|did|does|do|is|are|was|were)\b"
    r"|what (?:is|are|was|were|has|have) (?:[\w'’-]+\s+){1,4}?(?:doing|done)\b"
    r"|what (?:part|role) (?:has|have|had|did|does|do|is|are|was|were|will)\b"
    # "What are people who use the pump being told to do?": advice, several points
    r"|what (?:is|are|was|were|has|have|had) (?:[\w'’-]+\s+){1,8}?(?:told|asked|advised|urged|"
    r"ordered|instructed|expected|supposed) to do\b"
    r"|what (?:should|must|can|could|ought) (?:[\w'’-]+\s+){1,6}?do\b"
    r"|" + _YES_NO_FORM + r")",
    re.IGNORECASE,
)


_YES_NO = re.compile(r"^\s*" + _YES_NO_FORM, re.IGNORECASE)


def asks_yes_or_no(question: str) -> bool:
    """ "Has anybody been detained over the theft?": answered by the passage that says so, not
    by an overview of the topic."""
    return bool(_YES_NO.match(question))


def _base_form(verb: str) -> str:
    """The base form of a speech verb's third-person form ("warns" -> "warn", "denies" ->
    "deny", "stresses" -> "stress"); other forms unchanged."""
    if verb.endswith("ies"):
        return verb[:-3] + "y"
    if re.search(r"(?:ss|sh|ch|x)es$", verb):
        return verb[:-2]
    return verb[:-1] if verb.endswith("s") and not verb.endswith("ss") else verb


_STATEMENT_VERBS = SPEECH_VERBS | STANCE_VERBS
_BASE_FORMS = {_base_form(v) for v in _STATEMENT_VERBS if v.endswith("s")}
_GERUNDS = {re.sub(r"(?<=[^e])e$", "", v) + "ing" for v in _BASE_FORMS}  # "saying", "arguing"


# "What did Helen Marsh say?", "What has the council leader said?": all someone said, not one
# span of it; "What did she say about the warning system?": what she said on that topic. A
# question that goes on after the verb otherwise ("...say he would do?") asks for one thing said
# and stays a factoid.
def _either(words: Iterable[str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


# "did ... say", "has ... said", "is ... saying"; not "is ... called" (a passive: a name asked)
_STATEMENTS = re.compile(
    r"^\s*(?:and\s+)?what\s+(?:"
    rf"(?:did|does|do)\s+(?P<who1>\S.*?)\s+(?:{_either(_BASE_FORMS)})"
    rf"|(?:has|have|had)\s+(?P<who2>\S.*?)\s+(?:{_either(_STATEMENT_VERBS - _BASE_FORMS)})"
    rf"|(?:is|are|was|were)\s+(?P<who3>\S.*?)\s+(?:{_either(_GERUNDS)}))"
    r"(?:\s+(?:about|on|regarding|concerning)(?:\s+(?P<topic>[^?]*?))?)?"
    r"(?:\s+(?:so\s+far|today|yesterday|publicly|recently))?"
    r"(?:,?\s+according\s+to\s+[^?]+?)?\s*[?.!]*\s*$",
    re.IGNORECASE,
)


def statement_speaker(question: str) -> str | None:
    """Whose statements a question asks for ("What did Tessaly Systems say about the breach?":
    "Tessaly Systems"), if it asks for someone's."""
    found = _STATEMENTS.search(question)
    if not found:
        return None
    return found.group("who1") or found.group("who2") or found.group("who3")


# "Tell me about the rescue effort", "What do we know about the strikes on the camps?",
# "What have the outlets reported about the warnings?": the passages wanted are about that
_ABOUT = re.compile(
    r"^\s*(?:(?:and\s+)?tell me|what (?:do|does|did|can) (?:we|you|the \w+) (?:know|say|report)|"
    r"what (?:is|was) (?:known|said|reported)|what (?:have|has) (?:\w+\s+){1,3}?(?:said|reported))"
    r"\s+(?:about|on|regarding|concerning)\s+(?P<topic>[^?]+?)\s*[?.!]*\s*$",
    re.IGNORECASE,
)


def statement_topic(question: str) -> str | None:
    """What an open question asks the passages to be about: the topic of someone's statements
    ("What did Helen Marsh say about the flood warning system?": "the flood warning system") or
    of what is known ("What do we know about the strikes on displacement camps?"), if it says."""
    found = _STATEMENTS.search(question) or _ABOUT.search(question)
    return found.group("topic") if found and found.group("topic") else None


# "What does the Daily Klaxon report that the other outlets don't?", "What did only one
# source mention?": what one outlet reports alone
_ONLY_ONE = re.compile(
    r"\bonly\s+(?:one|a single)\s+(?:outlet|source|report|article|paper|newspaper|agency)\b"
    r"|\b(?:other|rest of the)\s+" + _SOURCES + r"\s+(?:\w+\s+)?(?:don't|do not|didn't|did not|"
    r"never|leave out|omit|miss)\b|\bnot (?:in|reported by) (?:the )?(?:other|any other)\s+"
    + _SOURCES,
    re.IGNORECASE,
)


def asks_what_only_one_reports(question: str) -> bool:
    return bool(_ONLY_ONE.search(question))


_ABOUT_SOMEONE = re.compile(
    r"^\s*(?:what do (?:we|you|the (?:articles|sources|reports)) know about|tell me about|"
    r"describe)\s+(?P<role>(?:the|its|their|his|her)\s+[^?]+?)\s*[?.!]*\s*$",
    re.IGNORECASE,
)


def unnamed_person_asked_about(question: str) -> str | None:
    """The description of the person an open question asks about without naming them ("What
    do we know about the club's owner?": "the club's owner"), else None."""
    found = _ABOUT_SOMEONE.match(question)
    if not found or re.search(r"\s[A-Z]", found.group("role")):
        return None
    role = found.group("role")
    # the noun before a relative clause or a preposition: "the woman who runs it", not "the
    # evacuation of the residents"
    head = re.split(r"\b(?:who|whom|whose|that|which|of|in|at|for|from|with|on)\b", role)[0]
    return role if words(head) and is_person_noun(words(head)[-1]) else None


def route_of(question: str) -> Route:
    """The route for a (standalone) question."""
    question = without_wh_contraction(question)  # "What's the outlook?"
    if _SUMMARY.search(question):
        return "summary"
    if _COMPARE.search(question) or asks_what_changed(question):
        return "compare"
    if asks_what_only_one_reports(question):
        return "compare"
    if (
        _OPEN.search(question)
        or _PROCESS.search(question)
        or _STATEMENTS.search(question)
        or _TWO_QUESTIONS.search(question)
    ):
        return "open"
    return "factoid"


# "What will the audit look at and when will it finish?": two questions, so several points
_TWO_QUESTIONS = re.compile(
    r"^\s*(?:what|who|how|when|where|why|which)\b[^?]*?[\s,](?:and|but)\s+"
    r"(?:how|when|why|where|who|what|which)\s+(?:[\w'’-]+\s+)?"
    r"(?:is|was|are|were|will|would|did|does|do|has|have|had|can|could|much|many|long|old)\b",
    re.IGNORECASE,
)


_CAPITALISED = re.compile(r"(?<=\s)[A-Z][\w.'’-]*")


def names_asked(question: str) -> list[str]:
    """The capitalised words of a question after its first word ("What is Israel's role?":
    Israel), without possessive endings: the names it asks about."""
    return [re.sub(r"['’]s$", "", word).strip(".'’-") for word in _CAPITALISED.findall(question)]
