"""The answer reader: span decoding, windows around evidence, and the shipped model end to end."""

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from rag.answer.compose import compose
from rag.answer.extract import (
    carries,
    described_as,
    is_full_name,
    neighbourhood,
    window_around,
)
from rag.answer.reader import MODEL_DIR, Reader, best_span, encode, tokenizer
from rag.answer.routes import echoes, lead_fits, repeats_question, wants_amount
from rag.core.models import AnswerSentence, Chunk, Hit
from tests.helpers import ROOT


def chunk(cid: str, file: str, sentences: list[str], start: int = 0, index: int = 0) -> Chunk:
    text, spans, cursor = "", [], start
    for s in sentences:
        spans.append((cursor, cursor + len(s)))
        text += s + " "
        cursor += len(s) + 1
    return Chunk(cid, file, text.rstrip(), start, cursor - 1, 1, spans, {"chunk_index": index})


def zero_scores(question: str, passage: str):
    """The encoding of (question, passage) and all-zero start and end scores for its tokens."""
    enc = encode(tokenizer(), question, passage)
    return enc, np.zeros(len(enc.ids)), np.zeros(len(enc.ids))


def test_the_best_span_lies_in_the_passage_and_beats_the_no_answer_score():
    enc, starts, ends = zero_scores("How old was he?", "He was 32 when he died.")
    at = enc.tokens.index("32")
    starts[at], ends[at] = 5.0, 5.0
    starts[1], ends[1] = 9.0, 9.0  # a question token scores highest: never an answer
    margin, a, b = best_span(starts, ends, enc)
    assert "He was 32 when he died."[a:b] == "32"
    assert margin == pytest.approx(10.0)


def test_a_span_that_cannot_answer_gives_way_to_the_best_one_that_can():
    passage = "The agency dpa said Anas, 32, had died."
    enc, starts, ends = zero_scores("How old was he?", passage)
    starts[enc.tokens.index("d")], ends[enc.tokens.index("##pa")] = 6.0, 6.0
    starts[enc.tokens.index("32")], ends[enc.tokens.index("32")] = 4.0, 4.0
    _, a, b = best_span(starts, ends, enc)
    assert passage[a:b] == "dpa"
    margin, a, b = best_span(starts, ends, enc, fits=lambda i, j: passage[i:j].isdigit())
    assert passage[a:b] == "32" and margin == pytest.approx(8.0)


def test_a_span_longer_than_the_limit_is_never_chosen():
    passage = "one two three four five six seven eight nine ten"
    enc, starts, ends = zero_scores("q?", passage)
    starts[enc.tokens.index("one")] = 4.0
    ends[enc.tokens.index("ten")] = 4.0
    _, a, b = best_span(starts, ends, enc, longest=3)
    assert len(passage[a:b].split()) <= 3


def test_a_window_takes_the_neighbours_from_whichever_chunk_holds_them():
    first = chunk("c1", "f.txt", ["Alpha one.", "Beta two."], 0, 0)
    second = chunk("c2", "f.txt", ["Beta two.", "Gamma three."], 11, 1)
    around = neighbourhood([Hit(first, 1.0), Hit(second, 0.5)])
    beta = first.spans()[1]
    window = window_around(beta, around)
    assert window.text == "Alpha one. Beta two. Gamma three."
    assert window.sentence_at(window.text.index("Gamma")).text == "Gamma three."
    assert window.sentence_at(0).text == "Alpha one."


def test_a_near_duplicate_carries_the_answer_only_if_it_holds_its_words_and_numbers():
    assert carries("The photographer, 32, was killed on Sunday.", "32")
    assert not carries("The photographer was killed on Sunday.", "32")
    assert carries("Verified by the Sanad agency of Al Jazeera.", "Sanad agency")
    assert not carries("Verified by Al Jazeera.", "Sanad agency")


def test_the_answer_leads_with_the_short_span_then_the_cited_sentence():
    c = chunk("c1", "f.txt", ["He was 32 when he was killed on Sunday."])
    sentence = AnswerSentence(text=c.text, citations=[c.cite(0, len(c.text), 1.0)])
    answer = compose("How old?", "extractive", [sentence], [Hit(c, 1.0)], None, {}, "32", 0.9)
    assert answer.answer.startswith("32. He was 32")
    assert answer.short_answer == "32" and answer.confidence == 0.9


def test_a_span_the_sentences_do_not_hold_is_not_shown():
    c = chunk("c1", "f.txt", ["He was killed on Sunday."])
    sentence = AnswerSentence(text=c.text, citations=[c.cite(0, len(c.text), 1.0)])
    answer = compose("How old?", "extractive", [sentence], [Hit(c, 1.0)], None, {}, "32")
    assert answer.short_answer is None and not answer.answer.startswith("32")


@pytest.mark.parametrize(
    "question, span, leads",
    [
        ("Which photographer was killed near Hama?", "dpa", False),  # a "which" wants a name
        ("Which photographer was killed near Hama?", "Anas Alkharboutli", True),
        ("Who is the leader of HTS?", "jihadi", False),
        ("Who is the chief executive?", "A spokesperson", False),  # a capital, no name
        ("How old was he?", "32", True),
        ("How many people live in Aleppo?", "over two million", True),
        ("How many days into the assault was the push?", "fifth", True),  # an ordinal
        ("How many people were displaced?", "the fighting", False),
        ("On which day did they enter Aleppo?", "Friday", True),
        ("On which days did they release water from it?", "Hollins Water", False),  # no date
        ("What year did the war begin?", "2011", True),
        ("In what year was the pump maker set up?", "Feb. 9", False),  # a day is no year
        ("Which year did the decline start?", "the 1990s", True),
        ("How much compensation are the families seeking?", "140 families", False),  # money
        ("How much compensation are the families seeking?", "£2 million", True),
        ("What is the name of the flatmate who found him?", "University of Callowmere", False),
        ("What is the name of the flatmate who found him?", "Averholt Medical Systems", False),
        ("What is the name of the flatmate who found him?", "Ann Lee of Averholt Systems", True),
        ("When did the Renaissance begin?", "the Middle Ages", True),  # "when": an era may do
        ("Which bound is harder to prove?", "lower bounds", True),  # the "which" noun itself
        ("When prices rise, what happens to demand?", "it falls", True),  # "when" opens a clause
        ("What does Damascus call the insurgents?", "terrorists", True),  # any span
        ("How long did the strike last?", "48 hours", True),
        ("How long did the strike last?", "a two-day stoppage", True),
        ("How long has the war lasted?", "since 2011", True),
        ("How long did the strike last?", "4 a.m.", False),  # a clock time is no duration
        ("How long has she run the café?", "39", False),  # nor is an age
        ("How long has she run the café?", "its busiest morning of the year", False),
    ],
)
def test_a_span_leads_the_answer_only_when_it_has_the_shape_the_question_asks(
    question, span, leads
):
    assert lead_fits(question, span) is leads


def test_the_shipped_model_is_described_by_its_card():
    card = json.loads((MODEL_DIR / "reader.json").read_text())
    model = MODEL_DIR / card["file"]
    assert hashlib.sha256(model.read_bytes()).hexdigest() == card["sha256"]
    split = card["split"]
    assert len(split["train"]) + len(split["tune"]) <= 25 and len(split["test"]) == 10
    assert not set(split["test"]) & (set(split["train"]) | set(split["tune"]))
    assert "CC BY-SA 4.0" in card["data"]["licence"]
    assert 0 < card["threshold"] < 1


@pytest.mark.slow
def test_the_reader_scores_a_passage_that_answers_above_one_that_does_not():
    reader = Reader(MODEL_DIR)
    yes, no = reader.read(
        "How old was the photographer?",
        [
            "Anas Alkharboutli, a photographer for dpa, was killed near Hama. He was 32.",
            "The offensive began last week with an attack on Aleppo.",
        ],
    )
    assert yes.probability > no.probability
    text = "Anas Alkharboutli, a photographer for dpa, was killed near Hama. He was 32."
    assert text[yes.start : yes.end] == "32"


@pytest.mark.slow
@pytest.mark.parametrize(
    "question, short",
    [
        ("How old was Anas Alkharboutli?", "32"),
        ("Who is the UN special envoy for Syria?", "Pedersen"),
        ("Which app did the opposition use to announce the captures?", "Telegram"),
    ],
)
def test_answers_lead_with_the_span_and_cite_the_sentence_that_holds_it(
    sample_pipeline, question, short
):
    answer = sample_pipeline.ask(question)
    assert not answer.abstained
    assert short in (answer.short_answer or "")
    assert answer.answer.startswith(answer.short_answer or "?")
    quotes = [c.quote for s in answer.sentences if s.supported for c in s.citations]
    assert any(answer.short_answer in q for q in quotes)


@pytest.mark.slow
def test_answering_never_imports_torch(tmp_path):
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from rag.pipeline import build_pipeline\n"
        "from tests.helpers import make_settings, ARTICLES\n"
        f"p = build_pipeline(make_settings(Path({str(tmp_path)!r})))\n"
        "p.ingest(ARTICLES)\n"
        "a = p.ask('How old was Anas Alkharboutli?')\n"
        "assert a.short_answer, a\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize(
    "question, amount",
    [
        ("How old was the photographer?", True),
        ("When did the offensive begin?", True),
        ("Whom did he say the fighting puts at risk?", False),  # "civilians" answers it
        ("Who leads the group?", False),
    ],
)
def test_only_a_question_for_a_number_or_a_time_rejects_a_span_without_one(question, amount):
    assert wants_amount(question) is amount


@pytest.mark.parametrize(
    "span, full_name",
    [
        ("Anas Alkharboutli", True),
        ("the Syrian National Army", True),
        ("German news agency dpa", False),  # what a "which photographer" re-read must pass over
        ("Syrian photographer", False),
        ("air strike near Hama. Anas Alkharboutli", False),
    ],
)
def test_a_which_question_reread_takes_only_a_whole_name(span, full_name):
    assert is_full_name(span) is full_name


def test_the_names_a_text_calls_by_the_which_noun_are_read_from_its_syntax():
    """ "Which reservoir...?": the text calls Hollins Water a reservoir, not Marle Valley Water
    (the utility that runs it); a nationality before the noun is no name."""
    text = (
        "Questions have been raised about the role of Hollins Water, a reservoir about 11 miles "
        "upstream, where the utility Marle Valley Water carried out controlled releases. "
        "Residents blamed Marle Valley Water, which opened the floodgates at Hollins Water "
        "reservoir. A Syrian photographer working for dpa was killed."
    )
    assert described_as("reservoir", text) == ["Hollins Water"]
    assert described_as("utility", text) == ["Marle Valley Water"]
    assert described_as("photographer", text) == []


@pytest.mark.parametrize(
    "question, span, echo",
    [
        ("Who leads HTS?", "Hayat Tahrir al-Sham", True),  # the acronym's name
        ("Who was made rich prior to World War 1", "World War I", True),
        ("Who leads HTS?", "Abu Mohammed al-Golani", False),
        ("Who is the UN envoy for Syria?", "Geir Pedersen", False),
    ],
)
def test_a_who_answer_that_only_names_what_the_question_names_is_an_echo(question, span, echo):
    assert echoes(question, span) is echo


def test_who_is_never_answered_with_the_question_s_own_name(sample_pipeline):
    answer = sample_pipeline.ask("Who leads HTS?")
    assert not answer.answer.startswith("Hayat Tahrir al-Sham")


def test_a_name_with_a_number_is_a_name_the_text_calls_a_noun():
    from rag.answer.extract import described_as

    text = "The authority said only the airport tram, Line 2, was operating."
    assert described_as("tram", text) == ["Line 2"]


@pytest.mark.parametrize(
    "span, fits",
    [
        ("last week", True),
        ("Wednesday", True),
        ("2019", True),
        ("first public comments since the offensive began", False),  # "first" is no time
    ],
)
def test_a_when_question_wants_a_time(span, fits):
    assert lead_fits("When did the fighting start?", span) is fits


def test_last_week_answers_when_without_a_name_tacked_on(sample_pipeline):
    """ "last week" has no number and no capital: the reader was sent to find a span that
    had one, and answered "last week, Geir Pedersen, the UN special envoy for Syria, stated
    Tuesday"."""
    answer = sample_pipeline.ask("When did the fighting start?")
    assert answer.answer.startswith("last week."), answer.answer


def test_a_span_of_the_questions_own_words_is_no_answer_but_a_related_word_is():
    asked = "What is the name of the consultant at the infirmary who spoke about delays?"
    assert repeats_question(asked, "a consultant")
    assert not repeats_question(asked, "Dr Ian Pell")
    assert not repeats_question("What are algorithms that use random bits called?", "randomized")


def test_how_many_things_is_not_answered_by_a_measure_of_something_else():
    asked = "How many patients' records did the gang steal?"
    assert not lead_fits(asked, "1.3 terabytes of data")
    assert not lead_fits(asked, "1.3", after=" terabytes of data, including patient records")
    assert lead_fits(asked, "about 40,000", after=" patients' records")
    assert lead_fits("How many miles long is the river?", "1,230 km")
    assert lead_fits("How many days did the strike last?", "two days")


def test_a_weekday_or_an_ordinal_names_no_one():
    asked = "Whose tonsil operation was cancelled on Monday?"
    assert not lead_fits(asked, "remove his tonsils cancelled on Monday — for the second time")
    assert lead_fits(asked, "Alfie")
    assert lead_fits("Who won in 2019?", "Team 42")


def test_a_question_for_the_name_of_a_kind_of_person_wants_a_name_not_a_description():
    from rag.answer.routes import asks_a_persons_name, is_person_noun

    asked = "What is the name of the 38-year-old firefighter who was hurt?"
    assert asks_a_persons_name(asked)
    assert not asks_a_persons_name("What is the name of the process that confirms primality?")
    assert not lead_fits(asked, "a roof section")
    assert lead_fits(asked, "Dan Rowe")
    spokesperson = "What is the name of the Orrin Chemicals spokesperson?"
    assert not lead_fits(spokesperson, "Orrin Chemicals")  # the question's own name
    assert is_person_noun("firefighters") and is_person_noun("men")
    assert not is_person_noun("boxes") and not is_person_noun("company")


def test_how_much_something_cost_is_an_amount_of_money():
    assert not lead_fits("How much was the company fined in 2019?", "12 per cent")
    assert lead_fits("How much was the company fined in 2019?", "£40,000")
    assert lead_fits("How much will the repairs cost?", "2 million", after=" pounds, it said")
    assert lead_fits("How much did its shares fall?", "12 per cent")
    assert lead_fits("How much weight did price carry in the scoring?", "70 per cent")


def test_who_is_the_kind_of_person_wants_a_sentence_that_calls_them_so_or_its_kin():
    from rag.answer.extract import _says
    from rag.answer.routes import persons_described

    assert persons_described("Who is the chief executive of Orrin Chemicals?") == {
        "chief",
        "executive",
    }
    assert persons_described("Who is Hannah Leclerc?") == set()
    assert _says("Sudan had a regime under the leadership of Hassan al-Turabi.", {"leader"})
    assert not _says("Claire Dunmore, a spokesperson for the group, said...", {"boss"})


def test_what_someone_does_for_a_living_is_read_as_their_job():
    from rag.answer.reader import as_asked

    assert as_asked("what does Imogen Hale do for a living") == "What is Imogen Hale's job?"
    assert as_asked("what does imogen hale do for a living") == "What is imogen hale's job?"
    assert as_asked("What does the council do?") == "What does the council do?"
    assert as_asked("What did Imogen Hale do?") == "What did Imogen Hale do?"


def test_a_short_answer_leaves_out_the_name_and_age_the_question_gives():
    from rag.answer.extract import _past_the_asked

    span = "Dr Imogen Hale, 52, a chemist at the University of Wendmouth"
    assert _past_the_asked("What is Imogen Hale's job?", span) == (
        "a chemist at the University of Wendmouth"
    )
    assert _past_the_asked("Who leads HTS?", "Abu Mohammed al-Golani") == "Abu Mohammed al-Golani"


def test_a_share_is_no_sum_of_money():
    asked = "What share of the joint venture does Ostrander Civils hold?"
    assert not lead_fits(asked, "£179 million")
    assert lead_fits(asked, "40 per cent")


def test_a_bare_number_names_no_one_asked_for():
    from rag.answer.routes import names_no_one

    assert names_no_one("Who will replace Gareth Lowther?", "52")
    assert not names_no_one("Who will replace Gareth Lowther?", "Dr Jane Rowe, 49")
    assert not names_no_one("How old is Gareth Lowther?", "52")
    # who a named person is: "32" leads the sentence describing him
    assert not names_no_one("Who was Anas Alkharboutli?", "32")


def test_how_much_someone_offered_or_lent_is_an_amount_of_money():
    offered = "How much has Marisol Trent's consortium offered for the club?"
    assert not lead_fits(offered, "A consortium led by Marisol Trent")
    assert lead_fits(offered, "£3 million")
    assert lead_fits("How much has the owner's company lent the club?", "£9.5 million")


def test_a_persons_age_answers_no_when():
    from rag.answer.routes import is_age_at

    text = "The club captain, Danny Quarshie, 31, said the players were owed money."
    at = text.index("31")
    assert is_age_at(text, at, at + 2)
    text = "Its manager, a 52-year-old, said he would stay. The deadline is 31 March."
    assert is_age_at(text, text.index("52"), text.index("52") + 2)
    assert not is_age_at(text, text.index("31"), text.index("31") + 2)


def test_how_old_someone_is_wants_a_sentence_about_them():
    from rag.answer.extract import _about_whom_asked

    asked = "How old is Martin Okonjo?"
    assert not _about_whom_asked(asked, "The town's 132-year-old football club went under.")
    assert _about_whom_asked(asked, "Martin Okonjo, 44, of Halloran Pike was appointed.")
    assert _about_whom_asked(asked, "He is 44 and joined the firm in 2010.")
    assert _about_whom_asked("How old is the club?", "The town's 132-year-old club.")


def test_an_age_is_a_number_a_life_or_a_history_could_reach():
    asked = "How old is the person who runs the hospitals group?"
    assert not lead_fits(asked, "620,000", after=" people and employs 7,800 staff")
    assert lead_fits(asked, "58", after=", said on Monday")
    assert lead_fits("How old is the hoard?", "1,300", after=" years old")
