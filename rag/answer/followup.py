"""Follow-up questions made standalone before retrieval.

Offline and deterministic: the previous turn's subject is carried into pronouns ("How old was
he?") and ellipses ("And Aleppo?"). The subject is read from capitalisation, not from any list
of topics: a run of capitalised words (a name) in the previous question, else in the previous
answer; a single capitalised word for places ("there"). With an LLM configured, the
condense prompt (prompts/condense.md) does the rewrite and this is the fallback.
"""

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from rag.answer.evidence import name_phrases
from rag.answer.outlets import names_outlet
from rag.answer.routes import is_person_noun, proper_adjectives, who_is_named
from rag.answer.versions import asked_of_version, version_asked, without_version
from rag.core.text import (
    CALENDAR_WORDS,
    THE_ORGANISATION,
    is_organisation,
    proper_names,
    words,
)

_PERSON = re.compile(r"\b(he|him|his|she|her|hers)\b", re.IGNORECASE)
# "her" before a noun is possessive ("her role"), at the end or before a preposition it is not.
_HER_OBJECT = re.compile(
    r"\bher\b(?=\s*(?:[?.!,;:]|$|\s(?:about|in|for|to|from|with|by|at|on)\b))", re.I
)
# What stays unresolved ("that", "those strikes"): the previous question is added as context.
_VAGUE = re.compile(
    r"\b(?:those|these|they|them|their|the same)\b"
    r"|\b(?:that|this)\s+(?=[a-z])(?!(?:the|a|an|is|was|were|are|has|had|have|will|would|"
    r"can|could|he|she|it|they|we|you|i)\b)\w+"  # "that figure", not "that the war..."
    r"|\b(?:that|this)\b(?=\s*(?:[?.!,]|$)|\s+(?:was|is|were|are|did|does|do|has|have|had|will|"
    r"would|can|could|mean|means|happen|happened)\b)"
    r"|\b(?:was|is|were|are|did|does|do|has|have|had|will|would|can|could)\s+(?:that|this)\b",
    # "was that announced", "that was", "about that?": a reference; "true that ...": not
    re.IGNORECASE,
)
_THING = re.compile(r"\b(it|its)\b", re.IGNORECASE)
_THEY = re.compile(r"\b(?:they|them|their)\b", re.IGNORECASE)
_CONTEXT = re.compile(r"\s\(([^()]+)\)\s*$")  # "...? (the question it leans on)"
# "Is it true that...", "it is said": an "it" that points at nothing before it.
_DUMMY_IT = re.compile(
    r"\bit\s+(?:true|possible|likely|clear|known|said|reported|the case|that)\b|\bit\s+is\b",
    re.IGNORECASE,
)
_THERE = re.compile(r"\bthere\b", re.IGNORECASE)
# "There were...", "Is there...": existential, not a place.
_EXISTENTIAL = re.compile(
    r"^\s*there\b|\b(?:is|are|was|were|will|would|has|have|had|be)\s+there\b", re.IGNORECASE
)
_ELLIPSIS = re.compile(
    r"^\s*(?:and|or|but|what about|how about|and what about|same for|also)\s+"
    r"(?P<subject>(?:[\w'’.-]+\s*){1,4}?)\s*\??\s*$",
    re.IGNORECASE,
)
_POSSESSIVE = {"his", "her", "hers", "its", "their", "theirs"}
# "Where?" after "When do the talks begin?": the same question, asked with another wh-word.
_WH = r"(?:what time|how long|how many|how much|where|when|why|who|how)"
# "Why?" after "How many objects were stolen?" is no "Why many objects...?": a wh-word that
# asks for an amount is swapped only for another.
_AMOUNT_WH = re.compile(r"^(?:what time|how long|how many|how much)$", re.IGNORECASE)
_BARE_WH = re.compile(rf"^\s*(?:and\s+|but\s+)?(?P<wh>{_WH})\s*\?*\s*$", re.IGNORECASE)
_LEADING_WH = re.compile(rf"^\s*(?:{_WH}|what|which)\b", re.IGNORECASE)
# "And about the ticket machines?" after "What did she say about the drivers?": the phrase
# its preposition leads replaces the previous question's phrase led by the same preposition.
_PREPOSITIONS = (
    "according to|about|on|in|at|for|from|to|with|regarding|concerning|of|near|during|after|"
    "before|since"
)
_LEADING_PREPOSITION = re.compile(rf"^(?P<p>{_PREPOSITIONS})\s+\S", re.IGNORECASE)
# A few words with no verb of their own ("Over what period?", "Why?"): they lean on the last
# question. "What is Russia's role?" is short but whole.
_FRAGMENT = re.compile(
    r"^(?!.*\b(?:is|are|was|were|be|been|did|does|do|has|have|had|can|could|will|would|"
    r"should|may|might|must)\b)\W*(?:\w+\W+){0,3}\w*\W*$",
    re.IGNORECASE,
)
_MARKER = re.compile(r"\[[^\]\n]*:L\d+\]")  # an answer's citation markers: no names in them
# A question whose answer is a name: the name the answer gives is who "he" or "she" is next.
_ASKS_FOR_NAME = re.compile(r"(?:^|,)\s*(?:who|whom|whose|which)\b|\bname\b", re.IGNORECASE)
# ... and one whose answer "it" may be: not a person, whom a "who" question asks for.
_ASKS_FOR_THING = re.compile(r"^\s*which\b|\bname\b", re.IGNORECASE)
# A name after one of these is where something happened ("near Hama"), not who did it.
_LOCATIVE = re.compile(
    r"\b(?:in|near|from|at|to|into|across|outside|inside|around|of|over|toward|towards)\s+"
    r"(?:the\s+)?$",
    re.IGNORECASE,
)


@dataclass
class Turn:
    """One message of a conversation."""

    role: str
    content: str


def without_context(question: str) -> str:
    """The question without the earlier one a follow-up was given as context ("When are they
    expected to leave? (How many soldiers were deployed...)" -> "When are they expected to
    leave?")."""
    return _CONTEXT.sub("", question)


def standalone(question: str, history: list[Turn], outlets: Collection[str] = ()) -> str:
    """The question rewritten to stand alone; unchanged when it does or there is no history.
    `outlets`, the indexed outlets: "What about the County Post?" asks the question last
    asked according to another outlet again, according to that one."""
    return _standalone(question, history, outlets)[0]


def _standalone(
    question: str, history: list[Turn], outlets: Collection[str] = ()
) -> tuple[str, str | None]:
    """The standalone question and who its "he" or "she" turned out to be (a name or a
    description), which a later "his" may go on meaning."""
    users = [i for i, t in enumerate(history) if t.role == "user" and t.content.strip()]
    if not users:
        return question, None
    last = users[-1]
    previous, meant = _standalone(history[last].content, history[:last], outlets)
    answered = [t.content for t in history[last:] if t.role == "assistant"]
    answer = _MARKER.sub("", answered[-1]) if answered else ""
    if (asked := _BARE_WH.match(question)) and (was := _LEADING_WH.match(previous)):
        amounts = {bool(_AMOUNT_WH.match(w)) for w in (asked.group("wh"), was.group(0).strip())}
        if len(amounts) == 1:
            return asked.group("wh").capitalize() + previous[was.end() :], meant
    if ellipsis := _ELLIPSIS.match(question):
        subject = ellipsis.group("subject").strip(" ?.")
        if outlets and (asked_again := _another_source(previous, subject, outlets)):
            return asked_again, None
        if version_asked(subject) and version_asked(previous):
            return asked_of_version(previous, subject), None  # "And in the update?"
        if not _an_attribute(subject):
            return _swap_subject(previous, subject), None
        question = f"What is {subject}?"  # "And her age?" after "Where does she work?"
    texts = [_MARKER.sub("", t.content) for t in history]  # no names in citation markers
    named_in_question = _names(_ATTRIBUTED.sub("", question))  # not "according to the Post"
    places = _places(texts)
    rewritten, unresolved, person = question, False, None
    if _ASKS_THEIR_NAME.search(question) and (role := _role(previous, answer)):
        rewritten, person = _describe(rewritten, role), role  # "What's his name?": the role's
    elif pronoun := _PERSON.search(rewritten):
        if meant and meant.startswith("the ") and meant in previous:
            # the unnamed person the last question was about ("How old is the council officer
            # who ran the tender?"), not a name that question mentions (Brackenford)
            rewritten, person = _describe(rewritten, meant), meant
        elif named := _person(previous, answer, places | _other_gender(pronoun.group(1), texts)):
            rewritten = _PERSON.sub(lambda m: _refer(m, named), rewritten)
            person = named
        elif person := _described(previous, "who") or meant:
            rewritten = _describe(rewritten, person)
        else:
            unresolved = True
    if _THERE.search(rewritten) and not _EXISTENTIAL.search(rewritten):
        asked_before = [_MARKER.sub("", t.content) for t in history if t.role == "user"]
        people = {p for p in (person, meant) if p}
        if place := _place(previous, answered[-1] if answered else "", asked_before, people):
            rewritten = _THERE.sub(place, rewritten)
        else:
            unresolved = True
    if not named_in_question and (body := _organisation(previous, answer)):
        # "the firm's shares", "their spokesperson": the organisation just named
        rewritten = THE_ORGANISATION.sub(lambda m: _named_organisation(m, body), rewritten)
        rewritten = _THEIR.sub(_possessive(body), rewritten)
    if not _DUMMY_IT.search(rewritten) and _THING.search(rewritten) and not named_in_question:
        if thing := _thing(previous, answer, meant):
            rewritten = _THING.sub(lambda m: _refer(m, thing), rewritten, count=1)
        else:
            unresolved = True
    leaning = rewritten == question and bool(
        _FRAGMENT.match(question)
        or len(question.split()) <= SHORT_FOLLOW_UP  # "Where did the people go?", not
        and _ADVERBIAL_WH.match(question)  # "Did the school close?", "What did X say?"
    )
    # "they" is left as it was, whatever else was resolved ("there")
    left = _VAGUE.search(question) if rewritten == question else _THEY.search(rewritten)
    vague = (bool(left) or leaning) and not _names(question)
    if unresolved or vague:  # the previous question, as context for what is left
        context = _CONTEXT.search(previous)  # it took one itself: that one, not nested
        topic = context.group(1) if context else previous.rstrip(" ?")
        rewritten = f"{rewritten.rstrip()} ({topic})"
    return rewritten, person


_ATTRIBUTED = re.compile(r",?\s*\baccording to\b[^,?]*", re.IGNORECASE)
_OWNER = re.compile(r"^(?:his|her|its|their)\s+(?P<owned>.+)$", re.IGNORECASE)


def _an_attribute(subject: str) -> bool:
    """Is the ellipsis someone's attribute ("her age", "his job"), not another person ("his
    dad", whom the previous question is then asked about)?"""
    owner = _OWNER.match(subject)
    if owner is None:
        return False
    return not any(is_person_noun(w) for w in words(owner.group("owned")))


SHORT_FOLLOW_UP = 6  # words of a follow-up naming nothing that leans on the last question
_ADVERBIAL_WH = re.compile(r"^\s*(?:and\s+)?(?:where|when|why|how)\b", re.IGNORECASE)


def _refer(match: re.Match, name: str) -> str:
    pronoun = match.group(1).lower()
    if pronoun == "her" and _HER_OBJECT.match(match.string, match.start()):
        return name
    return f"{name}'s" if pronoun in _POSSESSIVE else name


_OWNED = re.compile(r"\b(?:his|her|hers)\s+(?P<thing>[a-z][\w'’-]*)", re.IGNORECASE)


def _describe(question: str, described: str) -> str:
    """The person pronouns of the question replaced by a description of someone unnamed ("the
    man found dead in Nethergate"): "his flat" becomes "the flat of the man found dead...", a
    name would have taken "'s"."""
    owned = _OWNED.search(question)
    if owned and not _HER_OBJECT.match(question, owned.start()):
        return _OWNED.sub(lambda m: f"the {m.group('thing')} of {described}", question, count=1)
    return _PERSON.sub(described, question, count=1)


_WH_CONTRACTION = re.compile(r"^(?:What|Who|Where|When|How|Why)['’]s\s+")


def _names(text: str) -> list[str]:
    """Names in order: runs of capitalised words first, then single capitalised words."""
    phrases = [re.sub(r"['’]s$", "", _WH_CONTRACTION.sub("", p)) for p in name_phrases(text)]
    known = proper_names(text)  # lower-cased, without apostrophes or dots
    singles = [
        w
        for w in re.findall(r"\b[A-Z][\w'’-]+", text[1:])
        if re.sub(r"[.'’]", "", w).lower() in known
    ]
    singles = [re.sub(r"['’]s$", "", w) for w in singles]
    names = phrases + [w for w in singles if not any(w in p for p in phrases)]
    return [n for n in names if n.lower() not in CALENDAR_WORDS]  # "Thursday" is no referent


def _places(texts: list[str]) -> set[str]:
    """Names the conversation puts after a preposition of place ("near Allerton Mill"): where
    things happen, never who "he" or "she" is."""
    found = set()
    for text in texts:
        for name in _names(text):
            at = text.find(name)
            if at > 0 and _LOCATIVE.search(text[:at]):
                found.add(name)
    return found


def _person(previous: str, answer: str, places: set[str] = frozenset()) -> str | None:  # type: ignore[assignment]
    """Who "he" or "she" is: the name the answer gave to a question asking for one ("who",
    "which", "what was the name"), else a multi-word name in the previous question, else the
    answer's fuller form of a one-word name the question gave ("Assad" -> "President Bashar
    al-Assad"), else that name, else the first name the previous answer adds; never a name
    the conversation uses as a place ("near Hama"). "Who is Gwen Hartigan?" is about her,
    whatever name her description leads with ("Brenlow")."""
    if (asked := who_is_named(previous)) and asked not in places:
        return asked
    if named := _named_as(previous, answer):
        return named  # "What did the health minister say...?" "The health minister, Dominic Earle"
    if _asks_for_a_person(previous) and (lead := _lead_name(answer)) and lead not in places:
        return lead  # "Whose operation was cancelled?" "Alfie. ...Paul Brennan... his son Alfie"
    added = [_bare(p) for p in name_phrases(answer) if p not in previous and p not in places]
    added = [p for p in added if not is_organisation(p)]
    in_question = [
        _bare(p) for p in name_phrases(previous) if p not in places and not is_organisation(p)
    ]
    if added and _ASKS_FOR_NAME.search(previous):
        return added[0]
    if _WHO_DOES.match(previous):
        return None  # "Who owns Kestlewick Athletic?" with no name in reply: whoever owns it
    if in_question:
        return in_question[0]
    if _asks_for_a_person(previous) and _described(previous, "who"):
        return None  # "the council officer who ran the tender", not the town it names
    actors = [
        w
        for w in _names(previous)
        if w not in places
        and not _LOCATIVE.search(previous[: previous.find(w)])
        and not is_organisation(w)
    ]
    for actor in actors:
        fuller = [p for p in added if re.search(rf"\b{re.escape(actor)}\b", p)]
        if fuller:
            return fuller[0]
    if actors:
        return actors[0]
    return added[0] if added else None


def _bare(name: str) -> str:
    """The name without a possessive ending ("Kofi Adeyemi's" -> "Kofi Adeyemi")."""
    return re.sub(r"['’]s?$", "", name)


_WHO = re.compile(r"(?:^|,)\s*(?:who|whom|whose)\b", re.IGNORECASE)
_WHICH_NOUN = re.compile(r"(?:^|,)\s*which\s+(?P<noun>[a-z]+)\b", re.IGNORECASE)


def _asks_for_a_person(question: str) -> bool:
    """Does the question ask who ("Whose operation...?", "Which photographer...?"), not which
    thing ("Which country...?")?"""
    which = _WHICH_NOUN.search(question)
    return bool(_WHO.search(question)) or bool(which and is_person_noun(which.group("noun")))


def _lead_name(answer: str) -> str | None:
    """The short answer an answer leads with, when it is someone's name: no organisation's,
    no nationality ("Syrian"), no title ("United Nations Special Envoy")."""
    lead = _lead(answer)
    is_name = name_phrases(lead) == [lead] or re.fullmatch(r"[A-Z][\w'’-]+", lead)
    titled = any(is_person_noun(w) for w in words(lead))
    nationality = lead.lower() in proper_adjectives()
    if lead and is_name and not titled and not nationality and not is_organisation(lead):
        return lead
    return None


_THEIR = re.compile(r"\btheir\b(?=\s+[a-z])", re.IGNORECASE)


_GENERIC_ORGANISATION = {"firm", "company", "organisation", "organization"}


def _named_organisation(match: re.Match, body: str) -> str:
    """ "the firm's" as the organisation the last question named ("Tessaly Systems'"), when
    the noun is generic or ends that name ("the group": "...Hospitals Group"); else as it was."""
    noun = match.group("noun").lower()
    if noun not in _GENERIC_ORGANISATION and body.split()[-1].lower() != noun:
        return match.group(0)
    return _possessive(body) if match.group("own") else body


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _organisation(previous: str, answer: str = "") -> str | None:
    """Whose "their" is: the organisation the previous question names ("Tessaly Systems"),
    else the one its short answer gave ("Which supplier's account was used?" "Tessaly...")."""
    named = _names(previous) + _names(_lead(answer))
    found = next((n for n in named if is_organisation(n)), None)
    return found.rstrip("'’") if found else None


# the person a question asks about by their role: "What did the health minister say...?"
_ROLE_SUBJECT = re.compile(
    r"^\s*(?i:(?:and\s+)?(?:what|how|why|when|where)\s+(?:did|does|do|has|have|had|is|was|will)\s+"
    r"the)\s+(?P<words>(?:[a-z][\w-]*\s+){1,4})"
)


_ASKS_THEIR_NAME = re.compile(r"\b(?:his|her)\s+(?:full\s+)?name\b", re.IGNORECASE)


def _role(previous: str, answer: str) -> str | None:
    """The role the previous question asked about ("the health minister" of "What did the
    health minister say about the attack...?"), as far as the answer names it in apposition."""
    found = _role_and_name(previous, answer)
    return found[0] if found else None


def _named_as(previous: str, answer: str) -> str | None:
    """The name the answer gives that role: "The health minister, Dominic Earle," or "Dominic
    Earle, the health minister,"."""
    found = _role_and_name(previous, answer)
    return found[1] if found else None


def _role_and_name(previous: str, answer: str) -> tuple[str, str] | None:
    role = _ROLE_SUBJECT.search(previous)
    if not role:
        return None
    words = role.group("words").split()
    name = r"(?P<name>[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)+)"
    for n in range(len(words), 0, -1):  # the longest run of its words the answer names
        said = r"\s+".join(re.escape(w) for w in words[:n])
        for pattern in (rf"(?i:the\s+{said}),\s+{name}\b", rf"{name},\s+(?i:the\s+{said})\b"):
            if found := re.search(pattern, answer):
                return "the " + " ".join(words[:n]), found.group("name")
    return None


_WHICH = re.compile(
    r"^\s*(?:which|what)\s+(?P<noun>(?:[\w'’-]+\s+){0,3}?)(?P<verb>(?:is|was|were|are|has|have|"
    r"had|will|would|can|could)\s.*?)\s*\??\s*$",
    re.IGNORECASE,
)


_LEANS = re.compile(r"\b(?:it|its|that|this|these|those|he|him|his|she|her|they|them)\b", re.I)
_WHO_WAS = re.compile(
    r"^\s*who\s+(?:is|was)\s+(?:the|a|an)\s+(?P<description>[^?]+?)\s*\??\s*$", re.IGNORECASE
)


# "Who owns Kestlewick Athletic?": who does something, not who someone is or what was done to
_WHO_DOES = re.compile(
    r"^\s*who\s+(?P<rest>(?!(?:is|was|are|were|did|does|do|has|have|had|will|would|can|could|"
    r"should|may|might|must)\b)[a-z]+[^?]*?)\s*\??\s*$",
    re.IGNORECASE,
)


def _described(previous: str, relative: str) -> str | None:
    """What an unnamed "he" or "it" is, from a which-question ("Which photographer was killed
    near Hama?" -> "the photographer who was killed near Hama") or a who-question about a
    description the answer gave no name for ("Who was the man found dead in Nethergate?" ->
    "the man found dead in Nethergate")."""
    if "(" in previous or _LEANS.search(previous):
        return None  # itself a follow-up: no description of its own
    if who := _WHO_WAS.match(previous):
        return f"the {who.group('description')}"
    if does := _WHO_DOES.match(previous):
        return f"the person who {does.group('rest')}"
    match = _WHICH.match(previous)
    if not match or not match.group("noun").strip():
        return None
    return f"the {match.group('noun').strip()} {relative} {match.group('verb')}"


_ASKS_WHERE = re.compile(r"^\s*(?:and\s+)?where\b", re.IGNORECASE)
_PLACE_PREPOSITION = re.compile(
    r"^(?:in|at|on|near|inside|outside|by|off|along|across|beside|behind|under|over)\b",
    re.IGNORECASE,
)


def _place(
    previous: str,
    answer: str = "",
    asked_before: Sequence[str] = (),
    people: Collection[str] = (),
) -> str | None:
    """Where "there" is: the place a "where" question's short answer gave ("Where did the fire
    start?" "storage building at the Orrin Chemicals site. ..."), else the previous question's
    last name that is no one the conversation is about ("in Hama", not "in Kieran Doyle"),
    else the last place an earlier question put after a preposition ("at the Veldon Museum")."""
    lead = _lead(answer)
    if _ASKS_WHERE.search(previous) and lead and len(lead.split()) <= 8:
        return lead if _PLACE_PREPOSITION.match(lead) else f"in {lead}"
    names = [n for n in _names(previous) if not any(n in p or p in n for p in people)]
    # "deployed to Kersbridge, according to the Ministry of Defence": Kersbridge
    names = [n for n in names if _placed(n, previous)] or names
    if names:
        site = _SITE.search(previous)  # "the Orrin Chemicals plant in Brackwell", not Brackwell
        if site and names[-1] in site.group(0):
            return f"at {site.group(0)}"
        if written := re.search(rf"\b(?i:in|at)\s+the\s+{re.escape(names[-1])}\b", previous):
            return written.group(0)  # "at the Calder Clinic", as the question put it
        return f"in {names[-1]}"
    for text in reversed(asked_before):
        for name in reversed(_names(text)):
            if located := re.search(rf"\b{_LOCATED}\s+(?:the\s+)?{re.escape(name)}\b", text):
                return located.group(0)
    return None


_LOCATED = r"(?i:in|at|near|inside|outside)"


def _placed(name: str, text: str) -> bool:
    """Does the text put the name after a preposition of place ("to Kersbridge")?"""
    return bool(re.search(rf"(?<!according\s)\b{_PLACED}\s+(?:the\s+)?{re.escape(name)}\b", text))


_PLACED = r"(?i:in|at|near|to|from|into|inside|outside|around|across|towards?)"


# a place named by a name and what it is: "the Orrin Chemicals plant (in Brackwell)"
_SITE = re.compile(
    r"\bthe\s+(?:[A-Z][\w'’-]*\s+)+(?!(?:when|where|while|who|which|that|and|or|but|to|of|as|is|"
    r"was|were|are|has|had|have|after|before|for|with|from|by)\b)[a-z][\w-]+"
    r"(?:\s+(?:in|at|near|on)\s+[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)?"
)


def _lead(answer: str) -> str:
    """The short answer an answer leads with ("storage building at the site." before the
    cited sentence that holds it), if it leads with one: a lead that is itself cited is a
    sentence of an article."""
    first = re.split(r"(?<=[.!?])\s", answer.strip(), maxsplit=1)
    if len(first) < 2 or first[1].lstrip().startswith("["):
        return ""
    return first[0].strip().rstrip(".")


def _thing(previous: str, answer: str, person: str | None = None) -> str | None:
    """What "it" is: the name a short answer gave to a question asking for one ("Which
    reservoir ...?" "Hollins Water. ..."; a "who" question's answer is a person, no "it"), or
    what that question described when the answer gave no name, else the previous question's
    first name, else the answer's; never the person the conversation has called "he" or "she"
    ("What is her café called?" read as "...Hannah Leclerc's café...": "it" is the café)."""
    lead = re.split(r"(?<=[.!?])\s", answer.strip(), maxsplit=1)[0]
    added = [p for p in name_phrases(lead) if p not in previous]
    if _ASKS_FOR_THING.search(previous):
        if added and len(lead.split()) <= 6:
            return added[0]
        # no name given ("sodium hypochlorite", or a sentence that names nothing new): what
        # the question described, "the rail line that will stay closed"
        if not added and (described := _described(previous, "that")):
            return described
    names = [n for n in _names(previous) + _names(answer) if not person or n not in person]
    return names[0] if names else None


_HE, _SHE = {"he", "him", "his"}, {"she", "her", "hers"}
_PRONOUN = re.compile(r"\b(he|him|his|she|her|hers)\b", re.IGNORECASE)


_TITLED = re.compile(r"\b(?P<title>Mr|Ms|Mrs|Miss)\.?\s+(?P<name>[A-Z][\w'’-]+)")
_QUOTED = re.compile(r"[\"“][^\"“”]*[\"”]")


def _other_gender(pronoun: str, texts: list[str]) -> set[str]:
    """Names the conversation's own text refers to with the other gender's pronouns: the first
    personal pronoun after a name, in the rest of its sentence or the next ("Margaret Quill, 64,
    died when her car...": her), is taken as the name's. Not "he" for Margaret Quill."""
    asked = _HE if pronoun.lower() in _HE else _SHE
    other: set[str] = set()
    for text in texts:
        for titled in _TITLED.finditer(text):  # "Ms Trent" is no "he", "Mr Vesey" no "she"
            if (titled.group("title").lower() == "mr") != (asked is _HE):
                other.update({titled.group(0), titled.group("name")})
        for name in name_phrases(text):
            for at in (m.start() for m in re.finditer(re.escape(name), text)):
                after = text[at + len(name) :]
                stop = [m.end() for m in re.finditer(r"[.!?](?:\s|$)", after)][:2]
                # a quotation's "he" is whom its speaker speaks of, not the speaker
                unquoted = _QUOTED.sub(lambda m: " " * len(m.group(0)), after)
                later = _PRONOUN.search(unquoted[: stop[-1] if stop else len(after)])
                if (
                    later
                    and later.group(1).lower() not in asked
                    and not _names(after[: later.start()])
                ):
                    other.add(name)
    return other


_SOURCE_NAME = r"(?i:the\s+)?[A-Z][\w'’.-]*(?:\s+(?:of\s+|and\s+|&\s+)?[A-Z][\w'’.-]*)*"
_ACCORDING_TO = re.compile(rf"\b(?i:according\s+to)\s+(?P<source>{_SOURCE_NAME})")
_A_NAME = re.compile(rf"^{_SOURCE_NAME}$")  # "the County Post", "the Times of Oman"


def _another_source(previous: str, subject: str, outlets: Collection[str]) -> str | None:
    """ "What about the County Post?" after a question asked "according to the Valley
    Gazette" (itself, or the question it leaned on): that question, according to the County
    Post. None when the subject names no outlet or nothing was asked according to one."""
    if not _A_NAME.match(subject) or not any(names_outlet(subject, o) for o in outlets):
        return None
    context = _CONTEXT.search(previous)
    asked = previous[: context.start()] if context else previous
    # the version of the other outlet's story it named is no version of this one's
    asked, context_asked = without_version(asked), context and without_version(context.group(1))
    for host in (asked, *([context_asked] if context_asked else [])):
        if found := _ACCORDING_TO.search(host):
            swapped = host[: found.start("source")] + subject + host[found.end("source") :]
            return swapped.rstrip(" ?") + "?"
    # asked of every source: the same question, of this one ("And the Flare?")
    return f"{asked.rstrip(' ?')}, according to {subject}?"


_DETERMINED = re.compile(r"^(?:the|a|an|his|her|its|their|this|that|these|those)\s", re.I)


def _swap_subject(previous: str, subject: str) -> str:
    """The previous question about a new subject: its phrase led by the subject's preposition
    replaced ("...say about the drivers?" and "about the ticket machines") or added; else its
    last name replaced ("...from Hama?" and "Aleppo" -> "...from Aleppo?"), or the subject
    added when it named none."""
    question = previous.rstrip(" ?")
    if lead := _LEADING_PREPOSITION.match(subject):
        led = [m.start() for m in re.finditer(rf"\s{lead.group('p')}\s", question, re.I)]
        if not led:
            return f"{question} {subject}?"  # "What did she say?" and "about pay"
        after = led[-1] + 1 + len(lead.group("p"))  # the phrase goes on to the next one
        rest = re.search(rf"\s(?:{_PREPOSITIONS})\s|,\s", question[after:], re.I)
        end = after + rest.start() if rest else len(question)
        return f"{question[: led[-1]]} {subject}{question[end:]}?"
    names = _names(previous)
    if not names:
        return f"{previous.rstrip(' ?')} ({subject})?"
    if len(subject.split()) > 1 and subject.islower() and not _DETERMINED.match(subject):
        # "And melted down as scrap?": a condition on the same question, no new subject
        return f"{question}, {subject}?"
    last = names[-1]
    at = previous.rfind(last)
    before = previous[:at]
    first = subject.split()[0].lower()
    if before.rstrip().lower().endswith(" " + first):  # "from Hama" and "from Aleppo"
        before = before.rstrip()[: -len(first)].rstrip() + " "
    return before + subject + previous[at + len(last) :]
