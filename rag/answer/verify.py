"""Check every answer sentence against the passages it cites."""

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.answer.entailment import Entailment, load_lexicon
from rag.answer.evidence import SentenceVectors
from rag.core.models import AnswerSentence, Chunk, Citation, Span
from rag.core.text import (
    CALENDAR_WORDS,
    NEGATIONS,
    OPPOSITE_FUNCTION_WORDS,
    QUANTITY_WORDS,
    SPEECH_VERBS,
    STOPWORDS,
    content_terms,
    numbers,
    proper_names,
    sentence_spans,
    statement_pieces,
    stem,
    words,
)

MIN_COVERAGE = 0.6
SAME_CONTEXT = 0.5  # share of the claim's content words around an opposite word
NEGATED_SHARE = 0.3  # ... in the negated sentence itself, when its neighbours hold the rest
WINDOWS = 2  # nearest sentences whose windows the entailment model reads
# A statement the claim joins to the rest ("... and postponed operations") that holds at most
# this share of its content words in the cited passages, and comes no closer in meaning than
# ADDED_SIMILARITY to any cited sentence, is an event they do not report. Tuned on
# eval/claims_tune.yaml (faithful pieces: coverage >= 0.53, cosine >= 0.71 there).
ADDED_COVERAGE = 0.6
ADDED_SIMILARITY = 0.5


@dataclass
class Verdict:
    supported: bool
    reason: str | None = None


@lru_cache(maxsize=1)
def _opposites() -> tuple[dict[str, frozenset[str]], dict[str, str], dict[str, str]]:
    """Stem -> stems of its WordNet antonyms; lower-cased proper adjective -> as written;
    irregular form -> base ("risen" -> "rise")."""
    lexicon = load_lexicon()
    opposites: dict[str, set[str]] = {}
    for word, antonyms in lexicon["antonyms"].items():
        if word not in STOPWORDS:
            opposites.setdefault(stem(word), set()).update(stem(a) for a in antonyms)
    proper = {p.lower(): p for p in lexicon["proper_adjectives"]}
    for word, others in OPPOSITE_FUNCTION_WORDS.items():
        opposites.setdefault(stem(word), set()).update(stem(o) for o in others)
    frozen = {k: frozenset(v) for k, v in opposites.items()}
    return frozen, proper, lexicon.get("inflections", {})


def _base_stem(word: str) -> str:
    """The stem of a word's base form: irregular forms from WordNet ("fallen" -> fall), and
    regular comparatives and superlatives of words with antonyms ("quieter", "busiest")."""
    opposites, _, inflections = _opposites()
    if word in inflections:
        return stem(inflections[word])
    if word in OPPOSITE_FUNCTION_WORDS:  # "after" is no comparative of "aft"
        return stem(word)
    for ending, replacement in (("iest", "y"), ("ier", "y"), ("est", ""), ("er", "")):
        if word.endswith(ending) and len(word) > len(ending) + 2:
            base = word[: -len(ending)] + replacement
            for candidate in (base, base[:-1]):  # "biggest" -> "bigg" -> "big"
                if stem(candidate) in opposites:
                    return stem(candidate)
    return stem(word)


def opposite_word(claim: str, closest: str) -> tuple[str, str] | None:
    """A word of the claim whose opposite the closest passage uses instead ("unhappy" for
    "happy", "fell" for "rose"), or a proper adjective swapped ("Israeli" for "Russian"), in a
    sentence that otherwise says much the same (a word has opposites in several senses)."""
    opposites, proper, _ = _opposites()
    said = words(claim)
    terms = set(content_terms(claim))
    for a, b in sentence_spans(closest):
        sentence = closest[a:b]
        if len(terms & set(content_terms(sentence))) < SAME_CONTEXT * len(terms):
            continue
        near = words(sentence)
        # "not happy" states "unhappy": a negated word is no opposite
        near_stems = {
            _base_stem(w): w
            for i, w in enumerate(near)
            if not set(near[max(0, i - 3) : i]) & NEGATIONS
        }
        for word in said:
            base = _base_stem(word)
            if (word in STOPWORDS and word not in OPPOSITE_FUNCTION_WORDS) or base in near_stems:
                continue
            for other in opposites.get(base, ()):
                if other in near_stems:
                    return word, near_stems[other]
            if word in proper and (swapped := [w for w in near if w in proper]):
                return proper[word], proper[swapped[0]]
    return None


_CONTRAST = re.compile(r"[,;(—–-]\s*(?:but\s+|and\s+)?not\b[^,;.)—–]*", re.IGNORECASE)


def dropped_negation(claim: str, closest: str) -> str | None:
    """The negated words of the closest sentence ("not taking part", "no serious accidents")
    that a claim without any negation states as they are, in a sentence that otherwise says
    much the same. A contrast ("in weeks, not months") negates nothing the claim states."""
    said = {_base_stem(w) for w in words(claim) if w not in STOPWORDS}
    terms = set(content_terms(claim))
    bounds = sentence_spans(closest)
    for k, (a, b) in enumerate(bounds):
        sentence = _CONTRAST.sub(" ", closest[a:b])
        # a claim may join this sentence with the one before or after it ("Police said there
        # had been serious accidents as traffic built up...")
        around = closest[bounds[max(0, k - 1)][0] : bounds[min(len(bounds) - 1, k + 1)][1]]
        if len(terms & set(content_terms(sentence))) < NEGATED_SHARE * len(terms) or len(
            terms & set(content_terms(around))
        ) < SAME_CONTEXT * len(terms):
            continue
        near = words(sentence)
        for i, w in enumerate(near):
            if w in NEGATIONS:
                negated = [x for x in near[i + 1 : i + 4] if x not in STOPWORDS]
                if negated and _base_stem(negated[0]) in said:
                    return " ".join(near[i : near.index(negated[0], i) + 1])
    return None


def negated_phrases(text: str) -> list[tuple[str, str]]:
    """Each negation of the text with the first content word after it ("no serious accidents":
    ("no", "serious")); a negation with none within three words is ("not", "")."""
    found = []
    said = words(text)
    for i, w in enumerate(said):
        if w in NEGATIONS:
            after = [x for x in said[i + 1 : i + 4] if x not in STOPWORDS]
            found.append((w, _base_stem(after[0]) if after else ""))
    return found


def _negated_alike(phrase: tuple[str, str], passages: list[str]) -> bool:
    """A cited sentence negates the same word ("Police said there had been no serious
    accidents." for a claim joining it to the sentence before)."""
    word = phrase[1]
    return bool(word) and any(
        word == negated for passage in passages for _, negated in negated_phrases(passage)
    )


def check_support(
    claim: str, passages: list[str], similarity: float, threshold: float, closest: str = ""
) -> Verdict:
    """Is the claim supported by these passages: the cheap checks, then content words and
    meaning?"""
    failed = cheap_checks(claim, passages, closest)
    return failed or soft_checks(claim, " ".join(passages), similarity, threshold)


def cheap_checks(claim: str, passages: list[str], closest: str = "") -> Verdict | None:
    """What a claim cannot add to its passages: numbers, names, quantity words, and (against
    `closest`, the cited sentences nearest in meaning) a negation or an opposite word. None
    when it passes."""
    if not passages:
        return Verdict(False, "cites no retrieved passage")
    if claim.rstrip().endswith("?") or claim.lower().startswith(("question:", "answer:")):
        return Verdict(False, "not a statement (an echoed question or label)")
    source = " ".join(passages)
    missing_numbers = numbers(claim) - numbers(source)
    if missing_numbers:
        shown = ", ".join(f"{n:g}" for n in sorted(missing_numbers))
        return Verdict(False, f"numbers not in the cited passages: {shown}")
    source_words = set(words(source)) | set(content_terms(source))
    missing_names = {
        n for n in proper_names(claim) if n not in source_words and stem(n) not in source_words
    }
    if missing_names:
        return Verdict(
            False, f"names not in the cited passages: {', '.join(sorted(missing_names))}"
        )
    said = set(words(claim))
    added = sorted((said & QUANTITY_WORDS) - set(words(source)))
    if added:
        return Verdict(False, f"quantity words not in the cited passages: {', '.join(added)}")
    if (
        closest
        and said & NEGATIONS
        and not set(words(closest)) & NEGATIONS
        and not all(_negated_alike(phrase, passages) for phrase in negated_phrases(claim))
    ):
        return Verdict(False, "negates what the cited passage states")
    if closest and not said & NEGATIONS and (negated := dropped_negation(claim, closest)):
        return Verdict(False, f"states what the cited passage negates ('{negated}')")
    if closest and (opposite := opposite_word(claim, closest)):
        return Verdict(False, f"says '{opposite[0]}' where the cited passage says '{opposite[1]}'")
    return None


def soft_checks(claim: str, source: str, similarity: float, threshold: float) -> Verdict:
    """Word coverage and meaning: what an entailment model, when there is one, decides instead."""
    terms = set(content_terms(claim))
    if terms:
        coverage = len(terms & set(content_terms(source))) / len(terms)
        if coverage < MIN_COVERAGE:
            return Verdict(
                False, f"only {coverage:.0%} of its content words are in the cited passages"
            )
    if similarity < threshold:
        return Verdict(
            False, f"meaning too far from the cited passages ({similarity:.2f} < {threshold:.2f})"
        )
    return Verdict(True)


class Verifier:
    """Marks each sentence supported or not, and points each citation at its best-matching span.

    A claim that passes the cheap checks and is not a quote is then judged by word coverage and
    cosine similarity; with an entailment model, a claim that keeps most of the cited
    sentences' words (`entailment_gate` of its content words in the windows the model reads:
    what a subtle fabrication looks like, and what the model was trained on) is kept only if
    the model reads it as stated by a window of the cited sentences (one of the nearest two,
    with a sentence either side). A reworded claim is left to coverage and similarity: on
    reworded faithful claims the model is unreliable (measured: README, "The verifier")."""

    def __init__(
        self,
        vectors: SentenceVectors,
        threshold: float,
        entailment: Entailment | None = None,
        entailment_threshold: float | None = None,
        entailment_gate: float = 0.85,
    ):
        self.vectors = vectors
        self.threshold = threshold
        self.entailment = entailment
        self.entailment_gate = entailment_gate
        self.entailment_threshold = (
            entailment_threshold
            if entailment_threshold is not None
            else entailment.threshold
            if entailment is not None
            else 0.5
        )

    def verify(self, claim: str, chunks: list[Chunk]) -> AnswerSentence:
        """A verified sentence citing the best span of each chunk it names."""
        spans = [span for c in chunks for span in c.spans()]
        if not spans:
            empty = check_support(claim, [], 0.0, self.threshold)
            return AnswerSentence(text=claim, supported=False, reason=empty.reason)
        matrix = self.vectors.embed([claim] + [span.text for span in spans])
        sims = matrix[1:] @ matrix[0]
        citations = [_best_span(chunk, spans, sims) for chunk in _unique(chunks)]
        order = [int(i) for i in np.argsort(-sims)]
        nearest = " ".join(spans[i].text for i in order[:2])
        passages = [c.text for c in chunks]
        verdict: Verdict | None = None
        if _whole_sentences(claim, spans) and not claim.rstrip().endswith("?"):
            verdict = Verdict(True)  # the passage's own sentences: nothing added or dropped
        if verdict is None:
            verdict = cheap_checks(claim, passages, nearest)
        if verdict is None and (strangers := names_elsewhere(claim, spans)):
            verdict = Verdict(
                False,
                f"names not in the sentences that state the rest: {', '.join(strangers)}",
            )
        if verdict is None and (swap := misattributed(claim, spans)):
            verdict = Verdict(
                False, f"says {swap[0]} said it where the cited passage says {swap[1]} did"
            )
        if verdict is None and _quoted(claim, passages):
            verdict = Verdict(True)
        if verdict is None and (added := self._added_statement(claim, passages, matrix[1:])):
            verdict = Verdict(False, f"adds what the cited passages do not report: '{added}'")
        if verdict is None and self.entailment is not None:
            windows = [_window(spans, i) for i in order[:WINDOWS]]
            if _share_of_words(claim, " ".join(windows)) >= self.entailment_gate:
                verdict = self._entailed(claim, windows)
        if verdict is None:
            similarity = float(sims[order[0]])
            if similarity < self.threshold:  # only then can sentence pairs change the verdict
                similarity = max(similarity, self._whole_passage_similarity(claim, chunks))
            verdict = soft_checks(claim, " ".join(passages), similarity, self.threshold)
        if verdict.supported:
            citations = _with_merged_sentence(claim, spans, order, sims, citations)
        return AnswerSentence(
            text=claim, supported=verdict.supported, reason=verdict.reason, citations=citations
        )

    def _entailed(self, claim: str, windows: list[str]) -> Verdict:
        """Does one of these windows of the cited sentences state the claim?"""
        assert self.entailment is not None
        best = 0.0
        for window in windows:
            best = max(best, self.entailment.probability(claim, window))
            if best >= self.entailment_threshold:
                return Verdict(True)
        return Verdict(
            False,
            f"the cited passages do not state it (entailment {best:.2f} < "
            f"{self.entailment_threshold:.2f})",
        )

    def _added_statement(
        self, claim: str, passages: list[str], sentence_vectors: np.ndarray
    ) -> str | None:
        """A statement the claim joins to the rest that the cited passages neither word nor
        mean (an added event: "... and postponed non-urgent operations"); None when the claim
        is one statement."""
        pieces = statement_pieces(claim)
        if len(pieces) < 2:
            return None
        source = set(content_terms(" ".join(passages)))
        for piece in pieces:
            terms = set(content_terms(piece))
            if len(terms) < 2 or len(terms & source) > ADDED_COVERAGE * len(terms):
                continue
            closest = float(np.max(sentence_vectors @ self.vectors.embed([piece])[0]))
            if closest < ADDED_SIMILARITY:
                return piece.rstrip(".")
        return None

    def attribute(self, claim: str, candidates: list[Chunk]) -> AnswerSentence:
        """Verify an uncited claim against the retrieved passage closest to it."""
        spans = [span for c in candidates for span in c.spans()]
        if not spans:
            return self.verify(claim, [])
        matrix = self.vectors.embed([claim] + [span.text for span in spans])
        closest = spans[int(np.argmax(matrix[1:] @ matrix[0]))].chunk
        sentence = self.verify(claim, [closest])
        sentence.attributed = True
        return sentence

    def _whole_passage_similarity(self, claim: str, chunks: list[Chunk]) -> float:
        # A claim may merge two sentences of a passage; compare it with sentence pairs too.
        pairs = []
        for chunk in chunks:
            texts = [span.text for span in chunk.spans()]
            pairs += [f"{a} {b}" for a, b in zip(texts, texts[1:])]
        if not pairs:
            return 0.0
        matrix = self.vectors.embed([claim] + pairs)
        return float(np.max(matrix[1:] @ matrix[0]))


def names_elsewhere(claim: str, spans: list[Span], holders: int = 2) -> list[str]:
    """The claim's names that none of the sentences stating the rest of it has nearby (itself,
    the two before it, the one after): an actor swapped in from elsewhere in the passage
    ("the mayor said she was disappointed" where the chief executive said it)."""
    names = set(proper_names(claim))
    if not names:
        return []
    name_terms = {stem(n) for n in names}
    rest = set(content_terms(claim)) - name_terms
    if len(rest) < 3:
        return []
    held = [len(rest & set(content_terms(span.text))) for span in spans]
    ranked = sorted(range(len(spans)), key=lambda i: -held[i])[:holders]
    best = [i for i in ranked if held[i] >= SAME_CONTEXT * len(rest)]
    if not best:
        return []
    near: set[str] = set()
    for i in best:
        for j in range(max(0, i - 2), min(len(spans), i + 2)):
            if spans[j].chunk is spans[i].chunk:
                near |= set(words(spans[j].text)) | set(content_terms(spans[j].text))
    return sorted(n for n in names if n not in near and stem(n) not in near)


_NAME = re.compile(r"[A-Z][\w'’-]+(?:\s+(?:al-|bin\s+|de\s+|van\s+)?[A-Z][\w'’-]+)*")
_SPEECH = "|".join(sorted(SPEECH_VERBS, key=len, reverse=True))
# after a name: the verb, perhaps past an appositive (", the authority's chief executive,")
_VERB_AFTER_NAME = re.compile(rf"(?:,[^,]{{1,80}},|,)?\s+(?:{_SPEECH})\b")
_NAME_AFTER_VERB = re.compile(
    rf"\b(?:(?:{_SPEECH})\s+|[Aa]ccording to\s+(?:(?:the\s+)?[a-z][\w'’-]*\s+){{0,3}})"
    rf"(?={_NAME.pattern})"
)


def speaker(sentence: str) -> str | None:
    """Who the sentence says made its statement: the name before a speech verb ("Martin
    Haldane, the chief executive, told the Herald..."), else right after one ("said Ruth
    Bellamy", "according to chamber president Lionel Fairweather"); None for "he said", "the
    authority said" or no speech verb."""
    found = attribution(sentence)
    return found[0] if found else None


def attribution(sentence: str) -> tuple[str, int, int] | None:
    """The speaker (as speaker() reads it) and where the attribution ("Martin Haldane, the
    chief executive, told", "according to ... Lionel Fairweather") starts and ends."""
    for match in _NAME.finditer(sentence):
        name = _as_name(match.group(0))
        if name and (verb := _VERB_AFTER_NAME.match(sentence, match.end())):
            return name, match.start(), verb.end()
    for opener in _NAME_AFTER_VERB.finditer(sentence):
        after = _NAME.match(sentence, opener.end())
        if after and (name := _as_name(after.group(0))):
            return name, opener.start(), after.end()
    return None


def _as_name(run: str) -> str | None:
    parts = run.split()
    while parts and (parts[0].lower() in STOPWORDS or parts[0].lower() in CALENDAR_WORDS):
        parts = parts[1:]
    return " ".join(parts) or None


def misattributed(claim: str, spans: list[Span]) -> tuple[str, str] | None:
    """(the claim's speaker, the cited one's) when the claim puts a statement in the mouth of
    someone other than the person the cited sentences that state it name ("Nadia Okafor told
    the Herald..." where Martin Haldane did); None when they agree, or either is unnamed."""
    # an attribution governs its own statement: "Boats rescued 86 people, and the company
    # said it would review its decisions" attributes only the review
    attributed = [
        (piece, found) for piece in statement_pieces(claim) if (found := attribution(piece))
    ]
    if len(attributed) != 1 or not spans:
        return None
    statement, (said_by, start, end) = attributed[0]
    who = set(content_terms(said_by))
    rest = set(content_terms(statement[:start] + " " + statement[end:])) - who  # what was said
    if len(rest) < 3:
        return None
    held = [len(rest & set(content_terms(span.text))) for span in spans]
    most = max(held)
    if most < SAME_CONTEXT * len(rest):
        return None
    others = set()
    for count, span in zip(held, spans):
        if count < most:
            continue
        other = speaker(span.text)
        if other is None or who & set(content_terms(span.text)):
            return None
        others.add(other)
    return said_by, sorted(others)[0]


def _best_span(chunk: Chunk, spans: list[Span], sims: np.ndarray) -> Citation:
    best = max(
        (i for i, span in enumerate(spans) if span.chunk is chunk), key=lambda i: float(sims[i])
    )
    return spans[best].cite(float(sims[best]))


def _with_merged_sentence(
    claim: str, spans: list[Span], order: list[int], sims: np.ndarray, citations: list[Citation]
) -> list[Citation]:
    """When the claim joins its best sentence with the next or previous one (content words only
    the neighbour has), that chunk's citation quotes both."""
    if len(order) < 2 or abs(order[0] - order[1]) != 1:
        return citations
    best, other = spans[order[0]], spans[order[1]]
    if best.chunk is not other.chunk:
        return citations
    missing = set(content_terms(claim)) - set(content_terms(best.text))
    if not missing & set(content_terms(other.text)):
        return citations
    first, last = sorted((best, other), key=lambda span: span.start)
    joined = best.chunk.cite(first.start, last.end, float(sims[order[0]]))
    return [joined if c.chunk_id == best.chunk.id else c for c in citations]


def _window(spans: list[Span], i: int) -> str:
    """Span i with its neighbours in the same chunk."""
    chunk = spans[i].chunk
    return " ".join(
        spans[j].text
        for j in range(max(0, i - 1), min(len(spans), i + 2))
        if spans[j].chunk is chunk
    )


def _share_of_words(claim: str, text: str) -> float:
    terms = set(content_terms(claim))
    return len(terms & set(content_terms(text))) / len(terms) if terms else 1.0


def _whole_sentences(claim: str, spans: list[Span], most: int = 3) -> bool:
    """The claim is one of the cited sentences, or a run of up to `most` of them, word for word
    (an extractive answer): a part of a sentence may have left out its "not"."""
    said = " ".join(claim.split())
    for i in range(len(spans)):
        run = ""
        for j in range(i, min(i + most, len(spans))):
            if spans[j].chunk is not spans[i].chunk:
                break
            run = f"{run} {' '.join(spans[j].text.split())}".strip()
            if run == said:
                return True
    return False


def _quoted(claim: str, passages: list[str]) -> bool:
    """The claim is a passage's own words (an extractive answer, a summary point, a quote)."""
    said = " ".join(claim.split()).rstrip(". ")
    return any(said in " ".join(p.split()) for p in passages)


def _unique(chunks: list[Chunk]) -> list[Chunk]:
    return list({c.id: c for c in chunks}.values())
