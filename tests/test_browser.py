"""The page in real headless Chromium (Debian's), driven by Playwright, against `rag serve`."""

import html
import shutil

import pytest
from gradio_client import Client
from playwright.sync_api import sync_playwright

from tests.helpers import ARTICLES, OUTPUT, free_port, rag_env, rag_server

pytestmark = pytest.mark.slow  # headless Chromium against a `rag serve` process

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOSTILE = (
    "Ada Quill is the harbour master of Testville.<script>window.__pwned = 1</script> "
    '<img src=x onerror="window.__pwned = 2"> She took office in 2021.\n'
)


class Tracker:
    """A logging HTTP server on 127.0.0.1: any request to it is a leak from the page."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.requests: list[str] = []
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                seen.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):  # type: ignore[no-untyped-def]
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def tracker():
    found = Tracker()
    yield found
    found.httpd.shutdown()


def tracking_article(url: str) -> str:
    return (
        f"The keeper of the Marrow lighthouse is Mira Stone ![x]({url}/track.png?leak=1) and "
        f"[her logbook]({url}/link) is public.\n"
        f"Mira Stone has kept the Marrow light since 2019 <{url}/auto>.\n"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory, tracker, scripted_llm):
    folder = tmp_path_factory.mktemp("corpus")
    for path in ARTICLES.iterdir():
        shutil.copy(path, folder)
    (folder / "hostile.txt").write_text(HOSTILE)
    (folder / "tracking.txt").write_text(tracking_article(tracker.url))
    env = rag_env(
        data_dir=str(tmp_path_factory.mktemp("data")),
        llm_base_url=scripted_llm.url,  # llm mode offered; extractive stays the default
        mode="extractive",
    )
    with rag_server(folder, "serve.log", env) as url:
        yield url


@pytest.fixture(scope="module")
def page(server, tracker):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        dialogs: list[str] = []
        outside: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(server)
                else (
                    outside.append(route.request.url),
                    # the tracker gets what the page asks of it: it must get nothing
                    route.continue_()
                    if route.request.url.startswith(tracker.url)
                    else route.abort(),
                )
            ),
        )
        page.goto(server + "/", wait_until="load")
        page.locator("#question textarea").wait_for(timeout=60_000)
        page.dialogs = dialogs  # type: ignore[attr-defined]
        page.outside = outside  # type: ignore[attr-defined]
        yield page
        browser.close()


def ask(page, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()


def test_question_citation_chip_and_highlighted_passage(page):
    ask(page, "Who is the UN special envoy for Syria?")
    chat = page.locator("#chat")
    chat.get_by_text("Pedersen", exact=False).first.wait_for(timeout=60_000)
    chip = page.locator("#citations label").first
    chip.wait_for(timeout=10_000)
    assert ".txt:L" in chip.inner_text()
    chip.click()
    mark = page.locator("#passage mark")
    mark.wait_for(timeout=10_000)
    assert "Pedersen" in mark.inner_text()
    meta = page.locator("#passage .passage-meta").inner_text()
    assert ".txt" in meta and "line" in meta
    page.screenshot(path=str(OUTPUT / "page-answer.png"), full_page=True)


def test_article_markup_is_shown_as_text_and_never_runs(page):
    ask(page, "Who is the harbour master of Testville?")
    page.locator("#chat").get_by_text("Ada Quill", exact=False).first.wait_for(timeout=60_000)
    page.locator("#citations label").first.click()
    page.locator("#passage mark").wait_for(timeout=10_000)
    assert page.evaluate("window.__pwned === undefined")
    assert not page.dialogs
    assert "<script>" in page.locator("#passage").inner_text()
    page.screenshot(path=str(OUTPUT / "page-escaped.png"), full_page=True)


def test_markdown_in_an_article_is_shown_as_text_and_loads_nothing(page, tracker):
    ask(page, "Who is the keeper of the Marrow lighthouse?")
    chat = page.locator("#chat")
    chat.get_by_text("Mira Stone", exact=False).first.wait_for(timeout=60_000)
    assert "![x](" in chat.inner_text()
    assert chat.locator("img[src*='track']").count() == 0
    assert chat.locator("a[href*='127.0.0.1']").count() == 0
    page.screenshot(path=str(OUTPUT / "page-markdown-as-text.png"), full_page=True)
    assert tracker.requests == []


def test_an_llm_reply_with_an_image_is_never_rendered_while_streaming_or_after(
    page, tracker, scripted_llm
):
    leak = f"![q]({tracker.url}/track.png?q=keeper)"
    scripted_llm.queue.append(
        {
            "text": f"Mira Stone keeps the Marrow light {leak} [1]. It is closed {leak} [9].",
            "drip": 0.05,
        }
    )
    page.get_by_text("Options").click()
    page.get_by_label("llm").check()
    page.locator("#new-chat").click()  # a first question: the scripted reply is the answer
    page.wait_for_function("!document.querySelector(\"#chat [data-testid='bot']\")")
    shown = answer_to(page, "Who keeps the Marrow light?")  # streamed, verified, in place
    assert "Mira Stone keeps the Marrow light" in shown and "not supported, dropped" in shown
    chat = page.locator("#chat")
    assert chat.locator("img[src*='track']").count() == 0
    page.screenshot(path=str(OUTPUT / "page-llm-image-as-text.png"), full_page=True)
    page.get_by_label("extractive").check()
    assert tracker.requests == []


def answer_to(page, question: str) -> str:
    """Ask, wait for a new bot message to finish streaming, return its text."""
    bots = page.locator("#chat [data-testid='bot']")
    before = bots.count()
    ask(page, question)
    page.wait_for_function(
        """n => { const b = document.querySelectorAll("#chat [data-testid='bot']");
                  return b.length > n && !b[b.length - 1].innerText.trim().endsWith("…")
                    && b[b.length - 1].innerText.trim().length > 0; }""",
        arg=before,
        timeout=60_000,
    )
    page.wait_for_timeout(300)
    return bots.last.inner_text()


@pytest.mark.parametrize(
    "opening",
    [
        "Who was Anas Alkharboutli?",
        "Which photographer was killed in an air strike near Hama?",
    ],
)
def test_a_three_turn_conversation_follows_the_person_it_is_about(page, opening):
    first = answer_to(page, opening)
    assert "Alkharboutli" in first
    second = answer_to(page, "How old was he?")
    assert "Read as: How old was Anas Alkharboutli?" in second and "32" in second
    third = answer_to(page, "Since when had he worked for the agency?")
    assert "Read as:" in third and "Anas Alkharboutli" in third and "2017" in third
    page.screenshot(path=str(OUTPUT / "page-conversation.png"), full_page=True)


def test_an_open_question_gets_points_not_an_abstention(page):
    shown = answer_to(page, "What is Russia's role?")
    assert "The sources do not say" not in shown and shown.count(".txt:L") >= 2
    page.screenshot(path=str(OUTPUT / "page-open-question.png"), full_page=True)


def test_offline_answers_stream_to_the_page_sentence_by_sentence(server):
    job = Client(server + "/", verbose=False).submit(
        "What is Russia's role?", [], "extractive", 6, [], [], "", "", api_name="/respond"
    )
    job.result(timeout=120)
    shown = [update[0][-1]["content"][0]["text"] for update in job.outputs()]
    assert "Searching the articles" in shown[0]  # at once, before any work is done
    partial = [text for text in shown[1:-1] if text.endswith("…")]
    assert partial and partial[0].count('class="cite"') < shown[-1].count('class="cite"')
    assert "source-card" in shown[-1] and not shown[-1].endswith("…")


def test_the_start_panel_lists_what_is_indexed_and_suggests_questions(page):
    panel = page.locator("#start").inner_text()
    assert "articles indexed" in panel and "Try:" in panel and "undated" in panel


def test_answers_carry_source_cards_and_titled_citations(page):
    shown = answer_to(page, "Who is the UN special envoy for Syria?")
    assert "Pedersen" in shown and " · " in shown
    assert page.locator("#chat [data-testid='bot']").last.locator(".source-card").count() >= 1
    chip = page.locator("#citations label").first.inner_text()
    assert " — " in chip and ".txt:L" in chip


def test_inline_citations_open_their_passage_in_every_answer(page, server):
    answer_to(page, "Who is the UN special envoy for Syria?")
    answer_to(page, "How old was Anas Alkharboutli?")
    links = page.locator("#chat a.cite")
    assert links.count() >= 2  # the older answer's markers stay live
    first = links.first
    assert first.get_attribute("title")  # hovering shows the quote
    href = first.get_attribute("href")
    assert href and href.startswith("/passage?")
    reader = page.context.browser.new_page()
    reader.goto(server + href)
    assert first.get_attribute("title")[:40] in reader.locator("mark").inner_text()
    reader.close()


def test_new_chat_clears_the_conversation_and_the_passage(page):
    answer_to(page, "Who is the UN special envoy for Syria?")
    page.locator("#citations label").first.click()
    page.locator("#passage mark").wait_for(timeout=10_000)
    page.locator("#new-chat").click()
    page.wait_for_function(
        "() => document.querySelectorAll(\"#chat [data-testid='bot']\").length === 0",
        timeout=10_000,
    )
    assert page.locator("#passage mark").count() == 0
    assert page.locator("#citations label").count() == 0


def test_a_filter_nothing_matches_says_so(page):
    page.get_by_label("From (YYYY-MM-DD)").fill("2031-01-01")
    shown = answer_to(page, "Who is the UN special envoy for Syria?")
    page.get_by_label("From (YYYY-MM-DD)").fill("")
    assert "no indexed article matches these filters" in shown and "undated" in shown


def test_a_source_can_be_deleted_from_the_sources_tab(page):
    page.get_by_role("tab", name="Sources").click()
    page.locator("#doomed input").fill("hostile.txt")
    page.keyboard.press("Enter")
    page.locator("#delete").click()
    page.locator("#status").get_by_text("Deleted hostile.txt", exact=False).wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert "hostile.txt" not in page.locator("#sources").inner_text()
    page.get_by_role("tab", name="Ask").click()


def test_the_page_is_usable_at_390_pixels(page, server):
    phone = page.context.browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(server + "/", wait_until="load")
    phone.locator("#question textarea").wait_for(timeout=60_000)
    shown = answer_to(phone, "How old was Anas Alkharboutli?")
    assert "32" in shown
    chip = phone.locator("#citations label").first
    chip.click()
    phone.locator("#passage mark").wait_for(timeout=10_000)
    for target in (chip, phone.locator("#passage"), phone.locator("#chat")):
        box = target.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 391, box
    phone.screenshot(path=str(OUTPUT / "page-390px.png"), full_page=True)
    phone.close()


def test_summary_and_compare_show_article_markdown_as_text():
    from rag.analysis.compare import Claim, Comparison
    from rag.analysis.compare_render import render_comparison
    from rag.core.models import Citation
    from rag.interfaces.page import as_text
    from rag.interfaces.page_render import citation_links, comparison_html

    hostile = "Stone ![x](http://127.0.0.1:9/t.png) <img src=x> [a](http://x)"
    shown = as_text(hostile)
    assert "<img" not in shown and "&lt;img" in shown and "![x](" in shown
    cited = Citation(file="a<b>.txt", chunk_id="c", start=0, end=5, line=1, quote="<i>", score=1)
    claim = Claim(text=hostile, files=["a<b>.txt"], count=1, citations=[cited])
    view = Comparison(
        files=["a<b>.txt"],
        corroborated=[],
        single_source=[claim],
        conflicts=[],
        framing={},
        duplicates=[],
    )
    compared = render_comparison(view, None, html.escape, citation_links())
    assert "<img" not in compared and "&lt;img" in compared and "<b>" not in compared
    assert '<a class="cite" href="/passage?file=a%3Cb%3E.txt' in compared  # the one live link
    page_view = comparison_html(view, citation_links())  # what the Compare tab shows
    assert "<img" not in page_view and "&lt;img" in page_view and "a<b>" not in page_view
    assert '<a class="cite" href="/passage?file=a%3Cb%3E.txt' in page_view


def test_the_page_requests_nothing_beyond_the_server(page, tracker):
    assert page.outside == []
    assert tracker.requests == []


def test_summary_tab_shows_a_cited_summary(page):
    page.get_by_role("tab", name="Summary").click()
    page.locator("#summarize").click()
    summary = page.locator("#summary")
    summary.get_by_text(".txt:L", exact=False).first.wait_for(timeout=60_000)
    assert summary.inner_text().count(".txt:L") >= 3
    page.screenshot(path=str(OUTPUT / "page-summary.png"), full_page=True)
    page.get_by_role("tab", name="Ask").click()


def test_upload_from_the_page_makes_an_article_answerable(page, tmp_path):
    article = tmp_path / "lighthouse.txt"
    article.write_text(
        "The new lighthouse keeper of Port Ember is Tomas Wren. He arrived in May.\n"
    )
    page.get_by_role("tab", name="Sources").click()
    page.locator("#upload input[type=file]").set_input_files(str(article))
    page.get_by_role("button", name="Index uploaded files").click()
    page.get_by_text("1 added", exact=False).first.wait_for(timeout=60_000)
    page.locator("#sources").get_by_text("lighthouse.txt").first.wait_for(timeout=10_000)
    page.get_by_role("tab", name="Ask").click()
    ask(page, "Who is the lighthouse keeper of Port Ember?")
    page.locator("#chat").get_by_text("Tomas Wren", exact=False).first.wait_for(timeout=60_000)


def test_compare_tab_shows_the_cross_source_view(page):
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare").click()
    view = page.locator("#comparison")
    view.get_by_text("Near-duplicate articles", exact=False).first.wait_for(timeout=60_000)
    text = view.inner_text()
    assert "Reported by two or more files" in text and "Reported by one file only" in text
    assert "insurgents" in text and "militants" in text
    # rendered, not Markdown source: headings, lists and tables, no "##" or "|---|"
    assert "##" not in text and "|---" not in text and "**" not in text
    assert view.locator("h3").count() >= 6 and view.locator("table.framing").count() >= 1
    # long lists show their first items, the rest one click away
    hidden = view.locator("details").first
    assert "more" in hidden.locator("summary").inner_text()
    assert not hidden.locator("li").first.is_visible()
    hidden.locator("summary").click()
    assert hidden.locator("li").first.is_visible()
    links = view.locator("a.cite")
    assert links.count() >= 10  # every citation opens its passage
    assert links.first.get_attribute("href").startswith("/passage?file=")
    assert page.evaluate("window.__pwned === undefined")  # the hostile article stays text
    page.screenshot(path=str(OUTPUT / "page-compare.png"), full_page=True)
    page.get_by_role("tab", name="Ask").click()
