"""A chat that follows the conversation: follow-ups made standalone, questions routed by form."""

import pytest
from fastapi.testclient import TestClient

from rag.answer.followup import Turn, standalone
from rag.answer.routes import route_of, unnamed_person_asked_about
from rag.interfaces.api import create_app
from rag.interfaces.cli import render_answer
from rag.interfaces.page_render import render_markdown
from rag.pipeline import build_pipeline
from tests.helpers import ROOT, make_settings

PHOTOGRAPHER = [
    Turn("user", "Which photographer was killed near Hama?"),
    Turn(
        "assistant", "Anas Alkharboutli, 32, has long documented Syria's civil war. [001.txt:L13]"
    ),
]
RETREAT = [
    Turn("user", "How far did the insurgents retreat from Hama?"),
    Turn("assistant", "Some 20 kilometers, SANA said."),
]
SAID = [
    Turn("user", "What did Nadia Okafor say about the 1,240 drivers?"),
    Turn("assistant", "She said she was proud of the 1,240 drivers. [303.txt:L12]"),
]
TALKS = [
    Turn("user", "When do the talks begin?"),
    Turn("assistant", "Friday, 14 March. Talks will begin on Friday, 14 March. [303.txt:L10]"),
]
FIRE = [
    Turn("user", "Where did the fire start?"),
    Turn(
        "assistant",
        "storage building at the Orrin Chemicals site. The fire started at about 1am in a "
        "storage building at the Orrin Chemicals site. [401.md:L8]",
    ),
]


@pytest.mark.parametrize(
    "question, history, expected",
    [
        ("How old was he?", PHOTOGRAPHER, "How old was Anas Alkharboutli?"),
        ("Where was he killed?", PHOTOGRAPHER, "Where was Anas Alkharboutli killed?"),
        ("What happened there?", PHOTOGRAPHER, "What happened in Hama?"),
        # "there" after a "where" question is the place its short answer gave
        (
            "What was stored there?",
            FIRE,
            "What was stored in storage building at the Orrin Chemicals site?",
        ),
        ("And from Aleppo?", RETREAT, "How far did the insurgents retreat from Aleppo?"),
        ("What about Homs?", RETREAT, "How far did the insurgents retreat from Homs?"),
        ("Who is the UN envoy?", PHOTOGRAPHER, "Who is the UN envoy?"),
        ("How old was he?", [], "How old was he?"),
        # a phrase led by a preposition takes the place of the one led by the same preposition
        (
            "And about the ticket machines?",
            SAID,
            SAID[0].content.replace("the 1,240 drivers", "the ticket machines"),
        ),
        (
            "And from Aleppo to Turkey?",
            RETREAT,
            "How far did the insurgents retreat from Aleppo to Turkey?",
        ),
        # a bare wh-word asks the previous question again with it
        ("Where?", TALKS, "Where do the talks begin?"),
        ("And why?", TALKS, "Why do the talks begin?"),
    ],
)
def test_follow_ups_carry_the_previous_turns_subject(question, history, expected):
    assert standalone(question, history) == expected


MINISTER = [
    Turn(
        "user", "What did the health minister say about the attack when he visited the infirmary?"
    ),
    Turn(
        "assistant",
        "The health minister, Dominic Earle, visited the infirmary on Tuesday. [502.html:L17]",
    ),
]
RUNS = [
    Turn("user", "Who runs the Fenwold Valley Hospitals Group?"),
    Turn("assistant", "Castlebury Royal Infirmary. The group, which runs Castlebury Royal..."),
]


GAZETTE = [
    Turn("user", "According to the Valley Gazette, how many people were treated in hospital?"),
    Turn("assistant", "Twelve. Twelve people were treated in hospital. [400.txt:L12]"),
    Turn("user", "Were any of them firefighters?"),
    Turn("assistant", "Twelve people ..., including two firefighters. [400.txt:L12]"),
]
OUTLETS = ["Valley Gazette", "County Post", "Regional Tribune"]


def test_another_outlet_asks_what_was_asked_according_to_the_first_one():
    asked = "According to the County Post, how many people were treated in hospital?"
    assert standalone("What about the County Post?", GAZETTE, OUTLETS) == asked
    then = [*GAZETTE, Turn("user", "What about the County Post?"), Turn("assistant", "Nine.")]
    assert standalone("And the Tribune?", then, OUTLETS) == asked.replace("County Post", "Tribune")


def test_an_outlet_of_several_words_is_asked_about_again_too():
    history = [Turn("user", "According to AP, how far did the insurgents retreat from Hama?")]
    asked = "According to the Times of Oman, how far did the insurgents retreat from Hama?"
    assert standalone("What about the Times of Oman?", history, ["AP", "Times of Oman"]) == asked


def test_a_place_after_an_attributed_question_is_no_outlet():
    history = [Turn("user", "According to the Valley Gazette, how many fled Hama?")]
    assert standalone("And Aleppo?", history, OUTLETS) == (
        "According to the Valley Gazette, how many fled Aleppo?"
    )


def test_an_outlet_named_after_a_question_of_every_source_asks_it_of_that_one():
    history = [Turn("user", "How many people were treated in hospital?"), Turn("assistant", "9.")]
    assert standalone("And the Tribune?", history, OUTLETS) == (
        "How many people were treated in hospital, according to the Tribune?"
    )


def test_an_ellipsis_that_names_nothing_is_a_condition_on_the_same_question():
    history = [Turn("user", "What does Sasha Brindley think the pieces are worth?")]
    assert standalone("And melted down as scrap?", history) == (
        "What does Sasha Brindley think the pieces are worth, melted down as scrap?"
    )


def test_she_after_who_is_a_name_is_that_name_not_the_place_the_answer_leads_with():
    history = [
        Turn("user", "Who is Mara Quist?"),
        Turn("assistant", "Elsby. His niece, Mara Quist, who lives in Elsby, wept. [p.txt:L20]"),
    ]
    assert standalone("How old is she?", history) == "How old is Mara Quist?"


def test_there_is_a_place_asked_about_before_never_the_person_just_asked_about():
    history = [
        Turn("user", "Who was the nurse on duty at the Calder Clinic when the fire began?"),
        Turn("assistant", "Ruth Penn. Nurse Ruth Penn, 31, was on duty. [s.txt:L12]"),
        Turn("user", "Why couldn't she stop them?"),
        Turn("assistant", "The sources do not say."),
    ]
    assert standalone("How many nurses worked there before the cuts?", history) == (
        "How many nurses worked at the Calder Clinic before the cuts?"
    )


def test_there_is_where_the_question_placed_something_not_whom_it_is_attributed_to():
    history = [
        Turn("user", "How many soldiers went to Kersbridge, according to the Ministry of Defence?")
    ]
    assert standalone("What were they there to do?", history) == (
        f"What were they in Kersbridge to do? ({history[0].content.rstrip('?')})"
    )


def test_a_bare_why_after_a_question_for_an_amount_takes_it_as_context():
    history = [Turn("user", "How many objects were stolen?"), Turn("assistant", "13.")]
    assert standalone("Why?", history) == "Why? (How many objects were stolen)"


def test_a_person_asked_about_by_their_role_is_the_name_the_answer_gives_it():
    assert standalone("What's his name?", MINISTER) == "What's the name of the health minister?"
    assert standalone("What did he promise?", MINISTER) == "What did Dominic Earle promise?"


def test_she_is_never_an_organisation():
    """The answer named the infirmary; "How old is she?" was read "How old is Castlebury Royal
    Infirmary?"."""
    assert "Infirmary" not in standalone("How old is she?", RUNS)
    assert "Group" not in standalone("How old is she?", RUNS)


def test_references_resolve_through_earlier_follow_ups_and_dummy_it_is_left_alone():
    history = [
        Turn("user", "How many people live in Aleppo?"),
        Turn("assistant", "The sources do not say."),
        Turn("user", "Which hospital there was attacked?"),
        Turn("assistant", "Syrian Civil Defence said the Aleppo University Hospital was hit."),
    ]
    assert standalone("When did opposition forces enter it?", history) == (
        "When did opposition forces enter Aleppo?"
    )
    group = [Turn("user", "What is Hayat Tahrir al-Sham?"), Turn("assistant", "A group.")]
    assert standalone("Is it true that the war is over?", group) == (
        "Is it true that the war is over?"
    )
    assert standalone("Who leads it?", group) == "Who leads Hayat Tahrir al-Sham?"


def test_her_is_an_object_at_the_end_and_possessive_before_a_noun():
    history = [
        Turn("user", "Who directs the research programme?"),
        Turn("assistant", "Rim Turkmani is its director."),
    ]
    assert standalone("What did the report say about her?", history).endswith("about Rim Turkmani?")
    assert "Rim Turkmani's view" in standalone("What is her view?", history)


def test_an_unresolved_reference_takes_the_previous_question_as_context():
    history = [
        Turn("user", "How many Iran-backed fighters did the opposition capture?"),
        Turn("assistant", "Five."),
    ]
    rewritten = standalone("On which app was that announced?", history)
    assert rewritten.startswith("On which app was that announced?")
    assert "Iran-backed fighters" in rewritten


def test_he_is_the_answers_fuller_name_for_a_one_word_name_of_the_question():
    history = [
        Turn("user", "How has Assad promised to respond to the offensive?"),
        Turn("assistant", "The Observatory said President Bashar al-Assad vowed to crush it."),
    ]
    assert standalone("What does he call the insurgents?", history) == (
        "What does President Bashar al-Assad call the insurgents?"
    )


def test_a_place_is_never_he_and_an_unresolved_he_takes_the_previous_question():
    history = [
        Turn("user", "Who was killed in an air strike near Hama?"),
        Turn("assistant", "A photographer working for dpa was killed, the agency said."),
    ]
    assert standalone("How old was he?", history) == (
        "How old was he? (Who was killed in an air strike near Hama)"
    )


def test_a_weekday_is_never_what_it_refers_to():
    history = [
        Turn("user", "How big is the emergency fund announced on Thursday?"),
        Turn("assistant", "£5 million, announced on Thursday. [j.html:L19]"),
    ]
    rewritten = standalone("When was it paid?", history)
    assert "Thursday" not in rewritten.split("(")[0] and "L19" not in rewritten
    assert rewritten.endswith("(How big is the emergency fund announced on Thursday)")


def test_the_name_an_answer_gives_to_a_which_question_is_who_she_is_not_the_place():
    history = [
        Turn("user", "Which baker's shop on Bridge Street was flooded to waist height?"),
        Turn(
            "assistant",
            "Priya Desai, 41, whose shop on Bridge Street was flooded. [i.txt:L9]",
        ),
    ]
    assert standalone("How old is she?", history) == "How old is Priya Desai?"
    places = [
        Turn("user", "What was the name of the woman who died near Allerton Mill?"),
        Turn("assistant", "The woman was named as Margaret Quill. [h.txt:L6]"),
    ]
    assert standalone("What had she worked as?", places) == "What had Margaret Quill worked as?"


def test_a_short_whole_question_about_a_new_name_stands_alone():
    history = [
        Turn("user", "Which photographer was killed in an air strike near Hama?"),
        Turn("assistant", "A photographer working for dpa was killed. [b.txt:L13]"),
    ]
    assert standalone("What is Russia's role?", history) == "What is Russia's role?"


@pytest.mark.parametrize("follow_up", ["Who gave that figure?", "Over what period?"])
def test_a_demonstrative_or_a_bare_fragment_takes_the_previous_question(follow_up):
    history = [
        Turn("user", "How many people did firefighters rescue by boat?"),
        Turn("assistant", "86. [i.txt:L12]"),
    ]
    assert standalone(follow_up, history) == (
        f"{follow_up} (How many people did firefighters rescue by boat)"
    )


def test_what_changed_in_a_story_only_one_file_of_holds_says_there_is_no_other_version(
    sample_pipeline,
):
    answer = sample_pipeline.ask("What changed in the Times of Oman story?")
    assert answer.note == "one file of Times of Oman is indexed: no other version"


def test_a_question_about_names_no_article_mentions_abstains_and_says_why(sample_pipeline):
    answer = sample_pipeline.ask("What is Israel's role in the offensive?")
    assert answer.abstained and answer.note == "no indexed article mentions Israel"
    assert "no indexed article mentions Israel" in render_answer(answer)  # the CLI
    assert "no indexed article mentions Israel" in render_markdown(answer)  # the page
    known = sample_pipeline.ask("What is the UN's position on the fighting?")
    assert not known.abstained and known.note is None


@pytest.mark.parametrize(
    "question, route",
    [
        ("What is Russia's role?", "open"),
        ("What is the role of Iran?", "open"),
        ("Why did the offensive start now?", "open"),
        ("Tell me about Hayat Tahrir al-Sham", "open"),
        ("Summarise the situation in Hama", "summary"),
        ("Compare how the outlets describe the fighters", "compare"),
        ("Who is the UN special envoy for Syria?", "factoid"),
        ("How many people live in Aleppo?", "factoid"),
        ("What's the situation in Kersbridge?", "open"),
        ("How has the national government responded?", "open"),
        ("What is the council doing?", "open"),
        ("What part have soldiers played?", "open"),
        ("Were people warned in time?", "open"),
        ("How old was the photographer?", "factoid"),
        ("How far did the insurgents retreat?", "factoid"),
        ("How did the reported death toll change as the story developed?", "compare"),
        ("Where do the outlets disagree about how many people were evacuated?", "compare"),
        ("Do the sources agree on the death toll?", "compare"),
        ("Which outlets report 3,500?", "factoid"),
        ("Are there conflicting reports about the toll?", "compare"),
        ("Was the story updated?", "compare"),
        ("How has the situation in Hama changed?", "open"),  # news, not the reporting
        ("What did Pedersen say?", "open"),  # all he said, not a span of it
        ("What does Bethan Lloyd want?", "open"),  # what she wants: what she said
        ("What did Martin Haldane say, according to the Coastal Herald?", "open"),
        ("What did the company expect to lose?", "factoid"),  # one thing expected
        ("What has the council leader said?", "open"),
        ("What is the council saying?", "open"),
        ("What did Geir Pedersen warn about?", "open"),
        ("What did he say he would do?", "factoid"),  # one thing said
        ("What did she say about the flood warning system?", "open"),  # on that topic only
        ("What did Assad call the insurgents?", "factoid"),
        ("What was Hayat Tahrir al-Sham previously called?", "factoid"),  # a name asked
        ("What happens to monthly pass holders?", "open"),  # a description, not one span
        ("What will happen to the talks?", "open"),
        # two questions in one want several points
        ("What will the audit look at and when will it finish?", "open"),
        ("What is the Eastgate tram extension and how did it get approved?", "open"),
        ("What is the name of the man who lives and works in Hama?", "factoid"),
        # what one outlet reports alone is a comparison
        ("What does the Daily Klaxon report that the other outlets don't?", "compare"),
        ("What did only one source mention?", "compare"),
        ("Who is the only person to have resigned?", "factoid"),
        # advice wants several points; what one thing is for is one span
        ("What are people who use the pump being told to do?", "open"),
        ("What should residents do?", "open"),
        ("What is the pump designed to do?", "factoid"),
        # a version named is no question about how the reporting changed
        ("What is the latest cost overrun figure in Northline Wire's updated report?", "factoid"),
        ("What is the latest?", "open"),
        ("what did the manager compare the points penalty to", "factoid"),
        ("Can you compare the reports?", "compare"),
    ],
)
def test_questions_are_routed_by_their_form(question, route):
    assert route_of(question) == route


def test_a_question_for_statements_names_their_topic():
    from rag.answer.routes import statement_topic

    assert statement_topic("What did she say about the flood warning system?") == (
        "the flood warning system"
    )
    assert statement_topic("What did Helen Marsh say?") is None
    assert statement_topic("What did he say he lost?") is None


def test_a_statement_is_by_the_speaker_its_attribution_names():
    from rag.answer.routes import statement_speaker

    assert statement_speaker("What did Tessaly Systems say about the breach?") == "Tessaly Systems"
    assert statement_speaker("What has the council leader said?") == "the council leader"
    assert statement_speaker("Tell me about the breach") is None


def test_a_question_for_what_is_known_about_something_names_it_as_the_topic():
    from rag.answer.routes import statement_topic

    assert statement_topic("What do we know about the strikes on displacement camps?") == (
        "the strikes on displacement camps"
    )
    assert statement_topic("Tell me about the rescue effort") == "the rescue effort"
    assert statement_topic("What have the outlets reported about the warnings?") == "the warnings"
    assert statement_topic("Tell me more") is None


def test_an_open_answer_about_a_topic_keeps_to_it(sample_pipeline):
    answer = sample_pipeline.ask("What do we know about the strikes on displacement camps?")
    assert answer.route == "open"
    assert answer.sentences and all("camps" in s.text for s in answer.sentences)
    assert {c.file for s in answer.sentences for c in s.citations} == {"004_41f9c137d467bf3b.txt"}


def test_the_conflict_a_story_is_about_is_no_dispute_between_sources():
    assert route_of("What do reports say about the conflict in Syria?") != "compare"


@pytest.mark.parametrize(
    "question",
    ["What is Russia's role?", "What is the role of Iran?", "Summarise the situation in Hama"],
)
def test_open_questions_get_cited_points_from_several_files(sample_pipeline, question):
    answer = sample_pipeline.ask(question)
    assert not answer.abstained and answer.route in ("open", "summary")
    kept = [s for s in answer.sentences if s.supported]
    assert len(kept) >= 2
    assert len({c.file for s in kept for c in s.citations}) >= 2


def test_what_someone_said_is_answered_with_their_statements_not_a_fragment(sample_pipeline):
    """The reader's best span of "What did Pedersen say?" was "UN Security Council": a
    fragment of a sentence, led with as if it answered. The answer is what he said, quoted."""
    answer = sample_pipeline.ask("What did Pedersen say?")
    assert answer.route == "open" and not answer.abstained
    assert answer.answer.startswith(answer.sentences[0].text)  # no short lead before it
    assert "deepening of the crisis" in answer.answer
    assert all("Pedersen" in s.text or "he added" in s.text for s in answer.sentences[:2])


def test_a_comparison_request_answers_with_the_cross_source_view(sample_pipeline):
    answer = sample_pipeline.ask("Compare how the outlets describe the fighters")
    assert answer.route == "compare" and not answer.abstained
    assert any(len({c.file for c in s.citations}) >= 2 for s in answer.sentences)


@pytest.mark.slow
def test_how_the_reporting_changed_is_answered_with_the_revision_quoted_in_both_versions(
    tmp_path,
):
    """The wire's update revised its toll ("leaving one man dead and a woman missing" ->
    "leaving two people dead"): asked how the reported toll changed, the answer quotes both
    versions, the older first, each cited to its own file."""
    pipeline = build_pipeline(make_settings(tmp_path / "rag"))
    pipeline.ingest(ROOT / "tests" / "corpus2")
    answer = pipeline.ask("How did the reported death toll change as the story developed?")
    assert answer.route == "compare" and not answer.abstained
    first, second = answer.sentences[:2]
    assert "one man dead" in first.text and first.citations[0].file == "101_national_news_wire.html"
    assert "two people dead" in second.text
    assert second.citations[0].file == "105_national_news_wire_update.html"


@pytest.mark.slow
def test_where_outlets_disagree_on_a_figure_every_figure_is_quoted(tmp_path):
    """1,800 (the Echo, the wire), 3,000 (three outlets) and 3,500 (the Beacon): one quoted
    clause for each figure, smallest first, before the claims."""
    pipeline = build_pipeline(make_settings(tmp_path / "rag"))
    pipeline.ingest(ROOT / "tests" / "corpus2")
    answer = pipeline.ask("Where do the outlets disagree about how many people were evacuated?")
    assert answer.route == "compare"
    leading = " ".join(s.text for s in answer.sentences[:3])
    assert leading.index("1,800") < leading.index("3,000") < leading.index("3,500"), leading
    toll = pipeline.ask("Do the sources agree on the death toll?")  # their figures lead
    assert "one man dead" in toll.sentences[0].text, toll.answer
    assert "two people dead" in toll.sentences[1].text, toll.answer


@pytest.mark.slow
def test_what_one_outlet_reports_that_the_others_do_not_comes_from_its_files_only(tmp_path):
    """The Daily Beacon alone reports the baker Priya Desai and the 23 rescued pets
    (corpus2_truth.md): asked what it reports that the others don't, every point is cited to
    the Beacon alone, and it names her."""
    pipeline = build_pipeline(make_settings(tmp_path / "rag"))
    pipeline.ingest(ROOT / "tests" / "corpus2")
    answer = pipeline.ask("What does the Daily Beacon report that the other outlets don't?")
    assert answer.route == "compare" and not answer.abstained, answer.answer
    cited = {c.file for s in answer.sentences for c in s.citations}
    assert cited == {"103_daily_beacon.txt"}, answer.answer
    assert "Priya Desai" in answer.answer
    # with no outlet named: what any one outlet alone reports, each point citing one file
    alone = pipeline.ask("What did only one outlet report?")
    assert alone.route == "compare" and alone.sentences, alone.answer
    assert all(len({c.file for c in s.citations}) == 1 for s in alone.sentences), alone.answer


def test_nothing_relevant_still_abstains(sample_pipeline):
    for question in ["Why did the Pope visit Brazil?", "Who won the 2022 FIFA World Cup?"]:
        assert sample_pipeline.ask(question).abstained


def test_the_api_takes_history_and_says_how_it_read_the_question(sample_pipeline):
    with TestClient(create_app(sample_pipeline.settings, sample_pipeline)) as client:
        body = {
            "question": "How old was he?",
            "history": [
                {"role": "user", "content": "Which photographer was killed near Hama?"},
                {"role": "assistant", "content": "Anas Alkharboutli, 32, has long documented."},
            ],
        }
        answer = client.post("/v1/answer", json=body).json()
        assert answer["asked"] == "How old was he?"
        assert answer["question"] == "How old was Anas Alkharboutli?"
        assert "32" in answer["answer"] and answer["route"] == "factoid"
        chat = client.post(
            "/v1/chat/completions",
            json={
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Which photographer was killed near Hama?"},
                    {"role": "assistant", "content": "Anas Alkharboutli, 32, has long documented."},
                    {"role": "user", "content": "How old was he?"},
                ]
            },
        ).json()
        assert chat["citerag"]["question"] == "How old was Anas Alkharboutli?"
        assert "32" in chat["choices"][0]["message"]["content"]
        bad = client.post(
            "/v1/answer", json={**body, "history": [{"role": "tool", "content": "x"}]}
        )
        assert bad.status_code == 422


def test_with_an_llm_the_condense_prompt_rewrites_the_follow_up(sample_pipeline, scripted):
    settings = sample_pipeline.settings.model_copy(
        update={"llm_base_url": scripted.url, "llm_model": "scripted", "mode": "llm"}
    )
    pipeline = build_pipeline(settings, sample_pipeline.store, sample_pipeline.embedder)
    scripted.queue += [
        {"text": "How old was the photographer Anas Alkharboutli?"},
        {"text": "Anas Alkharboutli was 32 [1]."},
    ]
    answer = pipeline.ask("How old was he?", history=PHOTOGRAPHER)
    assert answer.question == "How old was the photographer Anas Alkharboutli?"
    assert answer.asked == "How old was he?"
    condense = scripted.requests[0]["messages"]
    assert "understood without the conversation" in condense[0]["content"]
    assert "Which photographer was killed near Hama?" in condense[1]["content"]


@pytest.mark.parametrize(
    "question",
    [
        "What is Russia's role?",
        "Who is the UN special envoy for Syria?",
        "Compare how the outlets describe the fighters",
    ],
)
def test_each_sentence_is_heard_as_soon_as_it_is_verified(sample_pipeline, question):
    heard = []
    answer = sample_pipeline.ask(question, on_sentence=heard.append)
    assert heard and heard == answer.sentences  # in order, every one, before ask returned
    assert all(s.citations for s in heard if s.supported)


def test_he_is_never_a_name_the_conversation_calls_she():
    answer = (
        "Margaret Quill. Margaret Quill, 64, died when her car was carried off a lane. The man "
        "found in his flat was named as Dennis Varley, a former postman."
    )
    history = [Turn("user", "Who died in the floods?"), Turn("assistant", answer)]
    assert standalone("What did he do for a living?", history) == (
        "What did Dennis Varley do for a living?"
    )
    assert standalone("How old was she?", history) == "How old was Margaret Quill?"


def test_a_he_inside_a_quotation_is_not_the_speakers_gender():
    answer = (
        'Helen Ostrowe. "He has treated this club like a plaything," fumed Helen Ostrowe, 63, '
        "who chairs the supporters' trust."
    )
    history = [Turn("user", "Who chairs the supporters' trust?"), Turn("assistant", answer)]
    assert standalone("How much has her group raised?", history) == (
        "How much has Helen Ostrowe's group raised?"
    )


def test_ms_is_never_he_and_mr_never_she():
    history = [
        Turn("user", "Who owns the club?"),
        Turn("assistant", "Ms Trent. Ms Trent, a lifelong supporter, said the group wanted it."),
    ]
    assert standalone("How old is she?", history) == "How old is Ms Trent?"
    assert "Trent" not in standalone("How old is he?", history)


def test_he_after_a_who_question_answered_with_no_one_is_whoever_it_asked_about():
    history = [
        Turn("user", "Who owns Kestlewick Athletic?"),
        Turn("assistant", "The sources do not say."),
    ]
    assert standalone("How old is he?", history) == (
        "How old is the person who owns Kestlewick Athletic?"
    )
    named = [history[0], Turn("assistant", "Conrad Vesey. Conrad Vesey, 58, bought the club.")]
    assert standalone("How old is he?", named) == "How old is Conrad Vesey?"


def test_it_is_the_name_a_short_answer_gave_to_a_which_question():
    history = [
        Turn("user", "Which reservoir upstream of Kersbridge has come under scrutiny?"),
        Turn("assistant", "Hollins Water. Releases from Hollins Water were questioned."),
    ]
    assert standalone("Who runs it?", history) == "Who runs Hollins Water?"


def test_it_is_never_the_person_a_who_question_was_answered_with():
    history = [
        Turn("user", "Who is Hayat Tahrir al-Sham's leader?"),
        Turn("assistant", "Abu Mohammed al-Golani. A video showed HTS leader al-Golani."),
    ]
    assert standalone("What was it formerly known as?", history) == (
        "What was Hayat Tahrir al-Sham formerly known as?"
    )


def test_an_unnamed_he_is_described_by_the_which_question_that_introduced_him():
    history = [
        Turn("user", "Which photographer was killed in an air strike near Hama?"),
        Turn("assistant", "A Syrian photographer working for dpa was killed near Hama."),
    ]
    assert standalone("How old was he?", history) == (
        "How old was the photographer who was killed in an air strike near Hama?"
    )


def test_his_goes_on_meaning_the_unnamed_man_an_earlier_turn_described():
    history = [
        Turn("user", "Who was the 78-year-old man found dead in Nethergate?"),
        Turn("assistant", "The sources do not say."),
        Turn("user", "What did he do for a living?"),
        Turn("assistant", "The sources do not say."),
    ]
    assert standalone("Which street was his flat on?", history) == (
        "Which street was the flat of the 78-year-old man found dead in Nethergate on?"
    )


def test_a_question_naming_an_outlet_is_answered_from_that_outlets_files(pipeline, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "beacon.txt").write_text(
        "Flood hits the town\nPublished by: The Daily Beacon\n\n"
        "Firefighters used boats to rescue 86 people from their homes overnight.\n"
    )
    (folder / "herald.txt").write_text(
        "Town flooded\nPublished by: The Valley Herald\n\n"
        "Firefighters used boats to rescue 60 people from their homes overnight.\n"
    )
    pipeline.ingest(folder)
    answer = pipeline.ask("How many people did firefighters rescue, according to the Daily Beacon?")
    assert not answer.abstained, answer.note  # the outlet's name is only in the metadata
    assert answer.short_answer == "86"
    assert {c.file for s in answer.sentences for c in s.citations} == {"beacon.txt"}
    assert answer.note == "from The Daily Beacon only (named in the question)"


def test_he_is_the_description_a_who_question_gave_when_the_answer_named_nobody():
    history = [
        Turn("user", "Who was the 78-year-old man found dead in Nethergate?"),
        Turn("assistant", "A 78-year-old man was found dead at his home. [g.html:L15]"),
    ]
    assert standalone("What did he do for a living?", history) == (
        "What did the 78-year-old man found dead in Nethergate do for a living?"
    )


def test_a_follow_up_leaning_on_one_that_leaned_on_context_takes_that_context_once():
    history = [
        Turn("user", "How many Iran-backed fighters did the opposition capture?"),
        Turn("assistant", "Five."),
        Turn("user", "On which app was that announced?"),
        Turn("assistant", "Telegram."),
    ]
    assert standalone("When was that?", history) == (
        "When was that? (How many Iran-backed fighters did the opposition capture)"
    )


def test_it_after_a_which_question_answered_without_a_name_is_what_the_question_described():
    history = [
        Turn("user", "Which rail line will stay closed until at least Saturday?"),
        Turn("assistant", "Kersbridge and Halford. Network Rail said the line would stay shut."),
    ]
    assert standalone("Why is it shut?", history) == (
        "Why is the rail line that will stay closed until at least Saturday shut?"
    )


def test_a_question_that_leans_on_an_earlier_one_describes_nothing_itself():
    history = [
        Turn("user", "Which news agency did the photographer killed near Hama work for?"),
        Turn("assistant", "dpa. A photographer for the agency dpa was killed."),
        Turn("user", "Which country is that agency from?"),
        Turn("assistant", "Germany. The German agency said so."),
    ]
    assert "that agency from" not in standalone("On which day did it announce his death?", history)


def test_it_is_never_the_person_the_conversation_calls_she():
    history = [
        Turn("user", "Which café owner was quoted?"),
        Turn("assistant", "Hannah Leclerc, 39, who runs the Blue Anchor café near the Quayside."),
        Turn("user", "What is her café called?"),
        Turn("assistant", "Hannah Leclerc, 39, who runs the Blue Anchor café near the Quayside."),
    ]
    assert standalone("What is her café called?", history[:2]) == (
        "What is Hannah Leclerc's café called?"
    )
    assert standalone("Where is it?", history) == "Where is Blue Anchor?"


def test_he_after_a_whose_question_is_the_name_the_short_answer_gave():
    history = [
        Turn("user", "According to the Daily Clarion, whose tonsil operation was cancelled?"),
        Turn(
            "assistant",
            "Alfie. Heartbroken dad Paul Brennan, 42, said his son Alfie, seven, had his "
            "operation cancelled. [503_daily_clarion.txt:L14]",
        ),
    ]
    assert standalone("How old is he?", history) == "How old is Alfie?"


def test_their_before_a_noun_is_the_organisation_the_last_question_named():
    history = [
        Turn("user", "What software does Tessaly Systems look after for the hospitals?"),
        Turn("assistant", "the labs. Tessaly Systems looks after the labs' software. [q.md:L3]"),
    ]
    assert standalone("Who's their spokesperson?", history) == (
        "Who's Tessaly Systems' spokesperson?"
    )
    people = [Turn("user", "What did the drivers want?"), Turn("assistant", "More pay. [a.txt:L1]")]
    assert "their" in standalone("What was their pay?", people)


def test_the_firm_is_the_organisation_just_named_and_the_group_only_a_group():
    history = [
        Turn("user", "Which IT supplier's account did the hackers use?"),
        Turn("assistant", "Tessaly Systems. They used a Tessaly Systems account. [a.txt:L1]"),
    ]
    assert standalone("Who's their spokesperson?", history) == (
        "Who's Tessaly Systems' spokesperson?"
    )
    assert standalone("What happened to the firm's shares?", history) == (
        "What happened to Tessaly Systems' shares?"
    )
    assert standalone("What did the council say?", history) == "What did the council say?"


def test_a_name_asked_about_with_a_possessive_is_he_without_it():
    history = [
        Turn("user", "What is Kofi Adeyemi's role in the response to the fire?"),
        Turn("assistant", "station manager. Station manager Kofi Adeyemi, 44, said. [a.txt:L1]"),
    ]
    assert standalone("How old is he?", history) == "How old is Kofi Adeyemi?"


def test_and_her_age_asks_for_her_attribute_and_his_dad_asks_the_question_again():
    history = [
        Turn("user", "Where does Dr Imogen Hale work?"),
        Turn("assistant", "University of Wendmouth. Dr Imogen Hale, 52, a chemist. [a.txt:L1]"),
    ]
    assert standalone("And her age?", history) == "What is Dr Imogen Hale's age?"
    assert "Where does" in standalone("And her husband?", history)


def test_and_according_to_another_outlet_asks_the_same_of_that_outlet():
    history = [
        Turn("user", "How many tonnes of bleach were there, according to the County Post?"),
        Turn("assistant", "20 tonnes. About 20 tonnes were kept there. [a.txt:L1]"),
    ]
    assert standalone("And according to the Tribune?", history) == (
        "How many tonnes of bleach were there, according to the Tribune?"
    )
    asked = "How much of it was there, according to the County Post?"
    chemical = [
        Turn("user", "Which chemical was kept in the building where the fire started?"),
        Turn("assistant", "sodium hypochlorite. About 20 tonnes were kept there. [a.txt:L1]"),
    ]
    assert standalone(asked, chemical).startswith(  # the outlet's name is no reason to leave it
        "How much of the chemical that was kept in the building where the fire started was"
    )


def test_there_is_the_named_site_the_last_question_asked_about_not_only_its_town():
    history = [
        Turn("user", "When did the Orrin Chemicals plant in Brackwell open?"),
        Turn("assistant", "1987. The plant, which opened in 1987, employs 240 people. [a.txt:L1]"),
    ]
    assert standalone("How many people work there?", history) == (
        "How many people work at the Orrin Chemicals plant in Brackwell?"
    )


def test_a_short_follow_up_naming_nothing_takes_the_last_question_as_context():
    history = [
        Turn("user", "How many homes were evacuated because of the Brackwell fire?"),
        Turn("assistant", "More than 300. More than 300 homes were evacuated. [a.txt:L1]"),
    ]
    assert standalone("When were they let back?", history) == (
        "When were they let back? (How many homes were evacuated because of the Brackwell fire)"
    )
    assert standalone("Where did the people go?", history).endswith("the Brackwell fire)")
    assert standalone("Did the school close?", history) == "Did the school close?"
    assert standalone("What did the council say?", history) == "What did the council say?"


def test_an_unnamed_person_stays_the_one_described_through_the_conversation():
    """The answer named no one: "he" is the officer the question described, turn after turn,
    never "Brackenford", the town that question mentions."""
    history = [
        Turn("user", "Who was the council officer who ran the Brackenford tram tender?"),
        Turn("assistant", "The senior council officer at the centre of the row. [600.txt:L5]"),
    ]
    described = "the council officer who ran the Brackenford tram tender"
    assert standalone("How old is he?", history) == f"How old is {described}?"
    history += [Turn("user", "How old is he?"), Turn("assistant", "The sources do not say.")]
    assert standalone("What is he accused of?", history) == f"What is {described} accused of?"


@pytest.mark.parametrize(
    "question, role",
    [
        ("What do we know about the club's owner?", "the club's owner"),
        ("Tell me about the woman who runs the trust", "the woman who runs the trust"),
        ("What do we know about Miriam Aldgate?", None),  # named
        ("Tell me about the evacuation of the residents", None),  # no person
        ("Describe the damage", None),
    ],
)
def test_an_open_question_about_an_unnamed_person_names_its_description(question, role):
    assert unnamed_person_asked_about(question) == role
