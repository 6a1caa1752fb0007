"""Does the cited passage say what the answer claims? The question and its short answer are
put as one statement ("Who is the Prime Minister of Syria?" + "Turkiye" -> "the Prime Minister
of Syria is Turkiye.") and the entailment model of the verifier (rag.answer.entailment) reads it
against the sentences the answer cites. An answer whose statement they do not support is
abstained: a reader finds a plausible span in most passages, so whether the passage *states*
the answer is a better test of an answer than how sure the reader is of its span (measured in
the README: on SQuAD's tuning articles it abstains on twice as many unanswerable questions at
the same share of answerable ones answered).

The statement is made by rules on the question's form, generic English, no topic words; a
clumsy statement ("32 old was the photographer.") still reads close to its passage.
"""

import re

_AUX = r"(?:is|was|are|were|did|do|does|has|have|had|will|would|can|could|should|may|might)"
_COPULA = re.compile(r"^(?:who|what|which)\s+(?P<be>is|was|are|were)\s+(?P<rest>.+)$", re.I)
_WH_NOUN_AUX = re.compile(
    rf"^(?:what|which|whose)\s+(?:[\w'’-]+\s+){{0,3}}?{_AUX}\s+(?P<rest>.+)$", re.I
)
_WH_AUX = re.compile(rf"^(?:who|whom|when|where|why|how)\s+{_AUX}\s+(?P<rest>.+)$", re.I)
_HOW_MUCH = re.compile(
    r"^how\s+(?:many|much|long|far|old|large|big|high|often)\s+(?P<rest>.+)$", re.I
)
_WH_SUBJECT = re.compile(r"^(?:who|what|which)\s+(?P<rest>.+)$", re.I)
_LEAD_IN = re.compile(
    r"^(?:(?:in|on|at|for|from|to|by|with|of|according to)\s+[^,]+,\s*)"
    r"|^(?:and|so|but|also)\s+",
    re.I,
)


def as_statement(question: str, answer: str) -> str:
    """The question with its answer put in, as one statement to check."""
    q = _LEAD_IN.sub("", question.strip().rstrip("?!. ").strip())
    if found := _COPULA.match(q):
        return f"{found.group('rest')} {found.group('be').lower()} {answer}."
    if found := _HOW_MUCH.match(q):
        return f"{answer} {found.group('rest')}."
    for form in (_WH_NOUN_AUX, _WH_AUX):
        if found := form.match(q):
            return f"{found.group('rest')} {answer}."
    if found := _WH_SUBJECT.match(q):
        return f"{answer} {found.group('rest')}."
    return f"{q} {answer}."
