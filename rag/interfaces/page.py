"""The Gradio page: chat with citation chips, the cited passage highlighted, sources and upload.

Callbacks only call the pipeline and render its result; every piece of article or model text is
escaped before it reaches the page.
"""

import html
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from rag.core.errors import RagError
from rag.core.models import Citation
from rag.core.modes import available_modes, default_mode
from rag.core.settings import Settings
from rag.index.store import Filters
from rag.interfaces.page_render import (
    as_text,
    chip_label,
    citation_links,
    comparison_html,
    conversation_of,
    error_text,
    render_markdown,
    render_passage,
    render_sentences,
    start_panel,
)
from rag.interfaces.streaming import run_streaming
from rag.pipeline import Pipeline

CSS = """
.passage mark { background: #ffe58a; padding: 0 2px; }
.passage { white-space: pre-wrap; line-height: 1.5; }
.passage-meta { color: #555; font-size: 0.9em; margin-bottom: 6px; }
.unsupported { color: #a00; text-decoration: line-through; }
.plain { white-space: pre-wrap; line-height: 1.5; }
.source-cards { margin-bottom: 8px; font-size: 0.9em; color: #444; }
.source-card { border-left: 3px solid #e8590c; padding-left: 6px; margin: 2px 0; }
.comparison h3 { margin: 1em 0 0.3em; font-size: 1.1em; }
.comparison .count { color: #666; font-weight: normal; }
.comparison ul { margin: 0.2em 0 0.4em 1.2em; padding: 0; line-height: 1.5; }
.comparison li { margin: 0.25em 0; }
.comparison table { border-collapse: collapse; margin: 0.3em 0 0.8em; font-size: 0.95em; }
.comparison td, .comparison th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
.comparison details summary { cursor: pointer; color: #e8590c; margin: 0.2em 0; }
.comparison li.added b { color: #2b8a3e; }
.comparison li.removed b { color: #c92a2a; }
.comparison li.changed b { color: #e8590c; }
@media (max-width: 480px) { .passage, .plain { font-size: 0.95em; } }
"""
# Local fonts only: the default theme would fetch Google Fonts, and the page must work offline.
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
)


def build_page(current: Callable[[], Pipeline], settings: Settings) -> gr.Blocks:
    """The page; current() returns the running pipeline (called only inside callbacks: the
    page is built before the pipeline has loaded)."""
    modes = available_modes(settings)  # only what is configured: llm never means OpenAI by default
    with gr.Blocks(title="citerag") as page:
        gr.Markdown(
            "# citerag\nAsk the articles. Every sentence of an answer cites its source; "
            "click a citation to read the passage."
        )
        citations = gr.State([])
        with gr.Tab("Ask"):
            start = gr.HTML(elem_id="start")
            with gr.Row():
                with gr.Column(scale=3):
                    # Messages are escaped HTML, never Markdown: article and model text could
                    # otherwise carry images or links that make the browser fetch other hosts.
                    chat = gr.Chatbot(
                        label="Answers",
                        height=420,
                        elem_id="chat",
                        render_markdown=False,
                        latex_delimiters=[],
                    )
                    question = gr.Textbox(
                        label="Question",
                        placeholder="Who is the UN special envoy for Syria?",
                        elem_id="question",
                    )
                    with gr.Row():
                        ask = gr.Button("Ask", variant="primary", elem_id="ask", scale=3)
                        stop = gr.Button("Stop", elem_id="stop", scale=1)
                        new_chat = gr.Button("New chat", elem_id="new-chat", scale=1)
                with gr.Column(scale=2):
                    chips = gr.Radio(
                        label="Citations (click one)",
                        choices=[],
                        elem_id="citations",
                        interactive=True,
                    )
                    passage = gr.HTML(elem_id="passage")
            with gr.Accordion("Options", open=False):
                mode = gr.Radio(
                    modes,
                    label="Answer mode",
                    value=default_mode(settings) if default_mode(settings) in modes else modes[0],
                )
                top_k = gr.Slider(1, 20, value=6, step=1, label="Passages (top-k)")
                outlets = gr.Dropdown(label="Outlets", multiselect=True, choices=[])
                files = gr.Dropdown(label="Files", multiselect=True, choices=[])
                with gr.Row():
                    date_from = gr.Textbox(label="From (YYYY-MM-DD)")
                    date_to = gr.Textbox(label="To (YYYY-MM-DD)")
        with gr.Tab("Sources"):
            table = gr.Dataframe(
                headers=["file", "title", "outlet", "date", "chunks"],
                interactive=False,
                elem_id="sources",
            )
            upload = gr.File(
                elem_id="upload",
                label="Add articles (.txt, .md, .html)",
                file_count="multiple",
                file_types=[".txt", ".md", ".html", ".htm"],
            )
            add = gr.Button("Index uploaded files")
            with gr.Row():
                doomed = gr.Dropdown(
                    label="Remove a file from the index", choices=[], elem_id="doomed"
                )
                remove = gr.Button("Delete from the index", variant="stop", elem_id="delete")
            status = gr.HTML(elem_id="status")
        with gr.Tab("Summary"):
            summary_files = gr.Dropdown(
                label="Files (none = all articles)", multiselect=True, choices=[]
            )
            summary_length = gr.Slider(1, 15, value=5, step=1, label="Sentences")
            summarize = gr.Button("Summarise", elem_id="summarize")
            summary = gr.HTML(elem_id="summary")

        with gr.Tab("Compare"):
            compare_files = gr.Dropdown(
                label="Files (none = all articles)", multiselect=True, choices=[]
            )
            compare = gr.Button("Compare sources", elem_id="compare")
            comparison = gr.HTML(elem_id="comparison")

        def respond(text, history, mode_, k, outlets_, files_, since, until):  # type: ignore[no-untyped-def]
            history = list(history or [])
            filters = Filters(
                files=files_ or None,
                outlets=outlets_ or None,
                date_from=since or None,
                date_to=until or None,
            )
            try:
                current().clean_question(text)
            except RagError as err:
                yield _reply(history, text, f"⚠ {err}", [])
                return
            written, checked = "", []
            turns = conversation_of(history)
            yield _reply(history, text, "<em>Searching the articles…</em>", [])
            for kind, value in run_streaming(
                lambda on_token, on_sentence: current().ask(
                    text,
                    filters,
                    history=turns,
                    top_k=int(k),
                    mode=mode_,
                    on_token=on_token,
                    on_sentence=on_sentence,
                )
            ):
                if kind == "token":  # an LLM's raw text, shown until its sentences are checked
                    written += value
                    yield _reply(history, text, html.escape(written) + " …", [])
                elif kind == "sentence":  # verified: shown with its citations as it comes
                    checked.append(value)
                    yield _reply(history, text, render_sentences(checked) + " …", [])
                elif kind == "error":
                    yield _reply(history, text, error_text(value), [])
                else:
                    cited = [c for s in value.sentences if s.supported for c in s.citations]
                    titles = {source.file: source.title for source in value.sources}
                    shown = render_markdown(value)
                    if value.asked:  # a follow-up, answered as the question it was read as
                        shown = f"<em>Read as: {html.escape(value.question)}</em>\n\n{shown}"
                    yield _reply(history, text, shown, cited, titles)

        def compare_sources(files_):  # type: ignore[no-untyped-def]
            try:
                # every item (the CLI shows the first few of each list), citations as links
                comparison = current().compare(files_ or None)
                return comparison_html(comparison, citation_links())
            except RagError as err:
                return error_text(err)

        def summarise(files_, length):  # type: ignore[no-untyped-def]
            try:
                summary = current().summarize(files_ or None, int(length))
            except RagError as err:
                return error_text(err)
            return f'<div class="plain">{render_markdown(summary)}</div>'

        def show(choice, cited):  # type: ignore[no-untyped-def]
            if not choice:
                return ""
            index = int(choice.split("]", 1)[0].lstrip("["))
            return render_passage(current(), cited[index - 1])

        def refresh():  # type: ignore[no-untyped-def]
            docs = current().documents()
            rows = [[d.file, d.title, d.outlet or "", d.date or "", d.chunks] for d in docs]
            outlet_names = sorted({d.outlet for d in docs if d.outlet})
            names = [d.file for d in docs]
            listed = [gr.update(choices=names, value=None) for _ in range(4)]
            return rows, gr.update(choices=outlet_names), *listed, start_panel(docs)

        def delete(file):  # type: ignore[no-untyped-def]
            if not file:
                return as_text("Choose a file to delete.")
            try:
                gone = current().delete(file)
            except RagError as err:
                return error_text(err)
            return as_text(f"Deleted {file} ({gone} passages) from the index.")

        def index(paths):  # type: ignore[no-untyped-def]
            if not paths:
                return "Choose files first."
            try:
                report = ingest_paths(current(), [Path(p) for p in paths])
            except RagError as err:
                return error_text(err)
            return as_text(report)

        inputs = [question, chat, mode, top_k, outlets, files, date_from, date_to]
        outputs = [chat, chips, citations, passage, question]
        asked = [ask.click(respond, inputs, outputs), question.submit(respond, inputs, outputs)]
        stop.click(None, None, None, cancels=asked)  # type: ignore[arg-type]
        new_chat.click(
            lambda: ([], gr.update(choices=[], value=None), [], "", ""),
            None,
            outputs,
            cancels=asked,  # type: ignore[arg-type]
        )
        chips.change(show, [chips, citations], passage)
        listings = [table, outlets, files, summary_files, compare_files, doomed, start]
        remove.click(delete, doomed, status).then(refresh, None, listings)
        add.click(index, upload, status, show_progress="full").then(refresh, None, listings)
        summarize.click(summarise, [summary_files, summary_length], summary)
        compare.click(compare_sources, compare_files, comparison)
        page.load(refresh, None, listings)
    # The page's own limit, like the API's: this many at once, a bounded queue behind them.
    page.queue(
        default_concurrency_limit=settings.max_concurrent_requests,
        max_size=8 * settings.max_concurrent_requests,
    )
    return page


def _reply(history: list, question: str, text: str, cited: list[Citation], titles=None):  # type: ignore[no-untyped-def]
    """The conversation with this turn (a new list: each streamed update replaces the turn)."""
    history = history + [
        {"role": "user", "content": html.escape(question)},
        {"role": "assistant", "content": text},
    ]
    labels = [chip_label(i, c, (titles or {}).get(c.file)) for i, c in enumerate(cited, start=1)]
    return history, gr.update(choices=labels, value=None), cited, "", ""


def ingest_paths(pipeline: Pipeline, paths: list[Path]) -> str:
    """Index uploaded files under their own names; the run's summary."""
    return pipeline.ingest_files([(path.name, path.read_bytes()) for path in paths]).summary()
