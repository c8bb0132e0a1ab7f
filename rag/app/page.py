"""The Gradio chat page: a thin shell over `Assistant.stream` (which also resolves follow-ups)
and `ingest.update_index`. Everything here is layout and rendering; the answers, their checks and
the index live in the Python API.

Layout: an "Ask" tab (chat, filters, example questions, a side panel of cited passages) and a
"Library" tab (the indexed articles by outlet and date, and an upload form that adds article files to the index).
"""

from __future__ import annotations

import html
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from ..assistant import REFUSAL, Assistant
from ..config import Config
from ..errors import (
    CorruptIndexError,
    IndexNotFoundError,
    ModelIntegrityError,
    ModelNotFoundError,
    QuestionError,
    RagError,
    StaleIndexError,
)
from ..generate.catalogue import available
from ..index.formats import SUFFIXES
from ..index.ingest import Upload, add_articles
from ..index.store import DocumentRecord
from ..search.conversation import Turn
from ..search.retrieve import Filters, outlet_articles
from ..types import Answer, Citation, Searching

EXAMPLES = (
    "Which countries had troops in Niger?",
    "Who is the ousted president of Niger?",
    "Which country initiated the phone call between Putin and Goita?",
)
_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Exchange:
    """One answered turn of a chat session: what rewriting needs, and its rendered source panel."""

    turn: Turn
    panel: str


class Library:
    """What every session shares: the config, one `Assistant` per model (each model is loaded once
    per process), and a lock so that two uploads never index at the same time."""

    def __init__(self, config: Config, assistant: Assistant | None = None) -> None:
        self.config = config
        # The page is long-running: it starts from an index brought up to date with its folder.
        first = assistant or Assistant(config, update=True)
        self._assistants: dict[str, Assistant] = {first.config.model: first}
        self._default = first.config.model
        self._lock = threading.Lock()

    @property
    def default_model(self) -> str:
        return self._default

    def models(self) -> list[str]:
        names = [name for name, _ in available(self.config.models_dir)]
        return names if self._default in names else [self._default, *names]

    def assistant(self, model: str | None = None) -> Assistant:
        model = model or self._default
        found = self._assistants.get(model)
        if found is not None:  # no lock: a question must not wait for an upload being indexed
            return found
        with self._lock:
            if model not in self._assistants:
                if model not in self.models():
                    raise ModelNotFoundError(f"no model {model!r} in {self.config.models_dir}; choose one in the list")
                base = self._assistants[self._default].config
                self._assistants[model] = Assistant(replace(base, model=model), update=False)
            return self._assistants[model]

    def sources(self) -> list[tuple[str, str]]:
        """The source filter's choices, (label, value): each outlet, which stands for all its articles, then each
        article."""
        return source_choices(self.assistant().index.documents)

    def add(self, paths: Sequence[str], progress: Callable[[float, str], None] = lambda *_: None) -> list[Upload]:
        """Save uploaded articles into the library's folder and index them (`ingest.add_articles`)."""
        with self._lock:
            first = self._assistants[self._default]
            files = [Path(p) for p in paths]
            results = add_articles(
                first.config,
                first.index,
                first.corpus_dir,
                files,
                self.config.max_upload_bytes,
                first.embedder,
                progress,
            )
            if any(r.added for r in results):
                progress(0.95, "reloading the index")
                for assistant in self._assistants.values():
                    assistant.reload()
            return results


# --- rendering ----------------------------------------------------------------------------------


OUTLET = "outlet:"  # a source filter value that names an outlet, not an article


def source_choices(documents: Mapping[str, DocumentRecord]) -> list[tuple[str, str]]:
    outlets = Counter(d.outlet for d in documents.values() if d.outlet)
    return [(f"{o} ({n} articles)", OUTLET + o) for o, n in sorted(outlets.items())] + [
        (_label(d), d.source) for d in sorted(documents.values(), key=lambda d: d.source)
    ]


def _label(d: DocumentRecord) -> str:
    named = " · ".join(filter(None, (d.outlet, _clip(d.title, 60) if d.title else None)))
    return f"{d.source} — {named}" if named else d.source


def parse_filters(
    sources: Sequence[str] | None,
    date_from: str | None,
    date_to: str | None,
    documents: Mapping[str, DocumentRecord] | None = None,
) -> Filters:
    """The page's filters; an outlet chosen among the sources stands for every article of that outlet."""
    outlets = [s.removeprefix(OUTLET) for s in sources or () if s.startswith(OUTLET)]
    sources = [s for s in sources or () if not s.startswith(OUTLET)]
    if outlets:
        sources += outlet_articles(documents or {}, outlets)
    dates = []
    for label, value in (("from", date_from), ("to", date_to)):
        value = (value or "").strip()
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise QuestionError(f"the '{label}' date {value!r} is not a date; write it as 2023-08-01") from None
        dates.append(value or None)
    if dates[0] and dates[1] and dates[0] > dates[1]:
        raise QuestionError(f"the date range is empty: {dates[0]} is after {dates[1]}")
    return Filters(tuple(sources or ()), dates[0], dates[1])


def render_draft(draft: str) -> str:
    """The model's draft while it streams: muted, labelled as unchecked, and with its [n] left as
    plain text, so nothing in it reads as a verified, cited answer."""
    return (
        '<div class="draft"><div class="draft-label">Draft, not yet checked against the articles: checking…</div>'
        f'<div class="draft-text">{html.escape(draft)} ▍</div></div>'
    )


def render_notes(answer: Answer) -> str:
    return "".join(f'<div class="answer-note">{html.escape(note)}</div>' for note in answer.notes)


def render_answer(answer: Answer, turn: int) -> str:
    """The chat message: the verified text with each [n] a link that opens its source card."""
    if not answer.answered:
        # Usually REFUSAL; for "the March article" it also says that no article is from March.
        return f'<div class="state-refusal"><strong>{html.escape(answer.text)}</strong></div>{render_notes(answer)}'
    known = {c.n for c in answer.citations}

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in known:
            return match.group(0)
        return f'<a class="cite" href="#cite-{turn}-{n}" title="open source {n}">[{n}]</a>'

    text = _MARKER.sub(link, html.escape(answer.text, quote=False))
    badge = '<div class="checked-badge">✓ Checked: every claim stands in the cited sentence</div>'
    return f'<div class="answer-checked">{text}{badge}{render_notes(answer)}</div>'


def render_plain(answer: Answer) -> str:
    """The answer as text to copy: the claims, then each source with its sentence."""
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        lines += [f"[{c.n}] {c.heading()}: {c.text}" for c in answer.citations]
    return "\n".join(lines)


def render_sources(
    answer: Answer,
    turn: int = 1,
    article_text: Callable[[str], str] | None = None,
    duplicates: Any = None,
    context_chars: int = Config.context_chars,
) -> str:
    """The source panel for one answer: each cited passage in its article context (up to
    `context_chars` on each side), the cited sentence marked, with the article's file (its outlet)
    and date. `article_text` gives an article's text as the index read it (`Assistant.article_text`)."""
    asked = html.escape(answer.question)
    if not answer.answered:
        looked = "".join(
            f"<li><code>{html.escape(h.chunk.source)}</code> ({h.chunk.date or 'undated'}): "
            f"{html.escape(_clip(h.chunk.text, 160))}</li>"
            for h in answer.passages
        )
        searched = f"<details><summary>Passages searched ({len(answer.passages)})</summary><ul>{looked}</ul></details>"
        return (
            f'<section class="turn" id="turn-{turn}"><div class="state state-refusal">'
            f"<strong>{html.escape(answer.text)}</strong><br>No passage in the indexed articles answers "
            f"“{asked}”, so nothing is claimed. Try other words, or widen the date range or the sources."
            f"</div>{searched if answer.passages else ''}</section>"
        )
    duplicates = duplicates or {}
    cards = []
    for c in answer.citations:
        twins = ", ".join(f"<code>{html.escape(s)}</code>" for s in duplicates.get(c.source, ()))
        also = f'<div class="also">Same story also in {twins}</div>' if twins else ""
        cards.append(
            f'<details class="cite-card" id="cite-{turn}-{c.n}"><summary><span class="cite-n">[{c.n}]</span> '
            f"{_byline(c)}"
            f'<div class="preview">{html.escape(_clip(c.text, 110))}</div></summary>'
            f'<blockquote class="context">{_context(c, article_text, context_chars)}</blockquote>{also}</details>'
        )
    outlets = sorted({c.source for c in answer.citations})
    header = f"Sources for “{asked}” — {len(answer.citations)} passage(s) from {len(outlets)} article(s)"
    return (
        f'<section class="turn" id="turn-{turn}"><div class="state state-answer">{header}</div>'
        f"{''.join(cards)}</section>"
    )


def _byline(c: Citation) -> str:
    """outlet · headline · date, the headline linked to the article's address when the source gave one, then the
    file (and page) the sentence is in."""
    title = html.escape(c.title or c.source)
    if c.url and c.url.startswith(("http://", "https://")):
        title = f'<a href="{html.escape(c.url, quote=True)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    outlet = f'<span class="outlet">{html.escape(c.outlet)}</span> · ' if c.outlet else ""
    where = html.escape(c.source) + (f", p. {c.page}" if c.page else "")
    file = f' <span class="file">{where}</span>' if c.title or c.page else ""
    return f'{outlet}<span class="headline">{title}</span> · <time>{c.date or "undated"}</time>{file}'


def render_error(exc: RagError) -> tuple[str, str]:
    """(chat message, panel) for an error, with what to do about it."""
    if isinstance(exc, ModelNotFoundError | ModelIntegrityError):
        todo = "Choose another model under “Filters and model”, or install this one as the message says."
    elif isinstance(exc, IndexNotFoundError | CorruptIndexError | StaleIndexError):
        todo = "Rebuild the index as the message says, then reload this page."
    elif isinstance(exc, QuestionError):
        todo = "Change the question or the filters and ask again."
    else:
        todo = "Try again; if it keeps failing, restart `rag serve` and check its log."
    text = html.escape(str(exc))
    chat = f'<div class="state-error"><strong>Could not answer:</strong> {text}</div>'
    panel = (
        f'<div class="state state-error"><strong>Error:</strong> {text}<br><strong>What to do:</strong> {todo}</div>'
    )
    return chat, panel


def render_panel(exchanges: Sequence[Exchange]) -> str:
    if not exchanges:
        return (
            '<div class="state state-empty">Cited passages appear here. Click a marker such as '
            "<strong>[1]</strong> in an answer to open its article at the cited sentence.</div>"
        )
    older = "".join(e.panel for e in reversed(exchanges[:-1]))
    earlier = f'<details class="earlier"><summary>Earlier answers</summary>{older}</details>' if older else ""
    return exchanges[-1].panel + earlier


def render_library(assistant: Assistant) -> str:
    """Every indexed article by outlet, then newest first: its title, date, file, passages and the other outlets'
    articles on the same story."""
    documents = assistant.index.documents
    docs = sorted(documents.values(), key=lambda d: (d.date or "", d.source), reverse=True)
    docs.sort(key=lambda d: (d.outlet is None, (d.outlet or "").lower()))
    rows = []
    for d in docs:
        twins = (
            ", ".join(
                f'<a href="#doc-{html.escape(s)}">{html.escape(documents[s].outlet or s)}</a>' for s in d.duplicates
            )
            or "—"
        )
        rows.append(
            f'<tr id="doc-{html.escape(d.source)}"><td>{html.escape(d.outlet or "—")}</td>'
            f"<td>{html.escape(d.title or '—')}</td><td>{d.date or 'undated'}</td>"
            f"<td><code>{html.escape(d.source)}</code></td><td>{len(d.chunk_ids)}</td><td>{twins}</td></tr>"
        )
    chunks = sum(len(d.chunk_ids) for d in docs)
    outlets = len({d.outlet for d in docs if d.outlet})
    return (
        f'<p class="library-summary">{len(docs)} articles from {outlets} outlet(s), {chunks} passages indexed.</p>'
        '<div class="library-wrap"><table class="library"><thead><tr><th>Outlet</th><th>Title</th><th>Date</th>'
        "<th>Article</th><th>Passages</th><th>Same story as</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def render_uploads(results: Sequence[Upload]) -> str:
    if not results:
        return "Choose one or more article files first."
    lines = [f"- `{r.name}`: {r.reason if r.added else '**rejected**, ' + r.reason}" for r in results]
    return "\n".join(lines)


def _context(c: Citation, article_text: Callable[[str], str] | None, context_chars: int) -> str:
    """The paragraph around the cited span, the span itself marked."""
    try:
        text = article_text(c.source) if article_text else ""
    except RagError:
        text = ""
    if text[c.start : c.end] != c.text:  # the file changed since indexing: show the sentence alone
        return f"<mark>{html.escape(c.text)}</mark>"
    start = max(text.rfind("\n\n", 0, c.start) + 2, c.start - context_chars, 0)
    end = text.find("\n\n", c.end)
    end = min(len(text) if end < 0 else end, c.end + context_chars)
    before, after = text[start : c.start], text[c.end : end]
    before = ("…" if start > 0 and text[start - 1] != "\n" else "") + before.lstrip()
    after = after.rstrip() + ("…" if end < len(text) and text[end] != "\n" else "")
    return f"{html.escape(before)}<mark>{html.escape(c.text)}</mark>{html.escape(after)}"


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"


# --- the page -----------------------------------------------------------------------------------

CSS = """
.state { padding: 10px 12px; border-radius: 8px; margin-bottom: 10px; }
.state-answer { background: var(--background-fill-secondary); }
.state-refusal, .state.state-refusal { border-left: 4px solid #6b7280; background: #f3f4f6; color: #111827; }
.state-error, .state.state-error { border-left: 4px solid #dc2626; background: #fef2f2; color: #7f1d1d; }
.state-refusal, .state-error { padding: 8px 10px; border-radius: 6px; }
.cite-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 10px; margin: 6px 0; }
.cite-card.active { outline: 2px solid #f59e0b; }
.cite-card summary { cursor: pointer; }
.cite-card[open] .preview { display: none; }
.cite-card .preview { color: var(--body-text-color-subdued); font-size: 0.9em; }
.cite-card .context { margin: 8px 0 4px; font-size: 0.95em; line-height: 1.5; }
.cite-card mark { background: #fde68a; color: #111827; padding: 0 2px; }
.cite-card .headline { font-weight: 600; }
.cite-card .also { font-size: 0.85em; color: var(--body-text-color-subdued); }
a.cite { text-decoration: none; font-weight: 600; cursor: pointer; }
.draft { opacity: 0.75; }
.draft-label { font-size: 0.8em; font-style: italic; color: var(--body-text-color-subdued); margin-bottom: 2px; }
.draft-text { color: var(--body-text-color-subdued); font-style: italic; }
.checked-badge { font-size: 0.8em; color: #047857; margin-top: 4px; }
.answer-note { font-size: 0.85em; color: #92400e; margin-top: 4px; }
.read-as { font-size: 0.85em; color: var(--body-text-color-subdued); }
.library-wrap { overflow-x: auto; }
.library { width: 100%; border-collapse: collapse; }
.library td, .library th { padding: 4px 8px; border-bottom: 1px solid var(--border-color-primary); text-align: left; }
#examples button { flex: 1 1 auto; }
"""

# A click on a citation marker opens its card in the source panel (and any folded group around
# it) and scrolls to it. Delegated from the document, so it works for messages rendered later.
HEAD = """
<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest('a[href^="#cite-"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const card = document.getElementById(link.getAttribute("href").slice(1));
  if (!card) return;
  document.querySelectorAll(".cite-card.active").forEach((c) => c.classList.remove("active"));
  for (let el = card; el; el = el.parentElement) if (el.tagName === "DETAILS") el.open = true;
  card.classList.add("active");
  card.scrollIntoView({ behavior: "smooth", block: "center" });
}, true);
</script>
"""

# Copies the hidden plain-text answer; falls back to execCommand where the clipboard API is
# unavailable (a page opened over plain http on another machine).
COPY_JS = """
(text) => {
  if (!text) return;
  const fallback = () => {
    const area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    document.execCommand("copy"); area.remove();
  };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).catch(fallback);
  else fallback();
}
"""


def build(assistant: Assistant | Library):  # type: ignore[no-untyped-def]
    """The page for one `Assistant` (its config gives the corpus, index and models folders)."""
    import gradio as gr

    library = assistant if isinstance(assistant, Library) else Library(assistant.config, assistant)
    config = library.config

    def respond(
        message: str,
        chat: list[dict[str, Any]],
        exchanges: list[Exchange],
        sources: list[str],
        date_from: str,
        date_to: str,
        top_k: float,
        model: str,
    ) -> Iterator[tuple[Any, ...]]:
        if not message.strip():
            yield "", chat, render_panel(exchanges), "", exchanges
            return
        chat = [*chat, {"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
        turn = len(exchanges) + 1
        waiting = '<div class="state state-answer">Searching the articles…</div>'
        yield "", chat, waiting, "", exchanges
        try:
            chosen = library.assistant(model)
            filters = parse_filters(sources, date_from, date_to, chosen.index.documents)
            history = [e.turn for e in exchanges]
            read_as = draft = ""
            for item in chosen.stream(message, filters, int(top_k) or None, history):
                if isinstance(item, Searching):
                    read_as = f'<div class="read-as">Searched for: “{html.escape(item.question)}”</div>'
                elif isinstance(item, Answer):
                    if item.window and item.window.words:
                        read_as += f'<div class="read-as">{html.escape(item.window.describe())}</div>'
                    chat[-1] = {"role": "assistant", "content": read_as + render_answer(item, turn)}
                    documents = chosen.index.documents
                    # Named by outlet where the source gave one: "same story also in Reuters (file)".
                    duplicates = {
                        s: tuple(f"{documents[t].outlet} ({t})" if documents[t].outlet else t for t in d.duplicates)
                        for s, d in documents.items()
                    }
                    panel = render_sources(item, turn, chosen.article_text, duplicates, chosen.config.context_chars)
                    shown = item.text if item.answered else REFUSAL
                    # The standalone form, so a later follow-up can be resolved against it.
                    exchanges = [*exchanges, Exchange(Turn(item.searched_for or item.question, shown), panel)]
                    yield "", chat, render_panel(exchanges), render_plain(item), exchanges
                else:
                    draft += item.text
                    chat[-1] = {"role": "assistant", "content": read_as + render_draft(draft)}
                    checking = '<div class="state state-answer">Checking the draft against the articles…</div>'
                    yield "", chat, checking, "", exchanges
        except RagError as exc:
            chat_text, panel = render_error(exc)
            chat[-1] = {"role": "assistant", "content": chat_text}
            yield "", chat, panel + render_panel(exchanges), "", exchanges

    def add_articles(files: list[str] | None, progress=gr.Progress()):  # type: ignore[no-untyped-def]  # noqa: B008
        progress(0, desc="starting")
        try:
            results = library.add(files or [], lambda share, what: progress(share, desc=what))
            status = render_uploads(results)
        except RagError as exc:
            status = f"**Indexing failed:** {exc}"
        return status, render_library(library.assistant()), gr.Dropdown(choices=library.sources()), None

    def refresh():  # type: ignore[no-untyped-def]
        return render_library(library.assistant()), gr.Dropdown(choices=library.sources())

    def ask(question: str) -> tuple[str, str]:
        """Answer one question from the articles: (answer text with [n] markers, sources as Markdown)."""
        try:
            answer = library.assistant().ask(question)
        except RagError as exc:
            return f"Error: {exc}", ""
        return answer.text, sources_markdown(answer)

    with gr.Blocks(title="Ask the articles") as page:
        gr.Markdown(
            "## Ask the articles\nAnswers come only from the indexed news articles; every claim links to the "
            "sentence that supports it, and “The articles don't say.” means they don't."
        )
        exchanges = gr.State([])
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    with gr.Accordion("Filters and model", open=False):
                        with gr.Row():
                            date_from = gr.Textbox(label="From date", placeholder="2023-08-01", min_width=120)
                            date_to = gr.Textbox(label="To date", placeholder="2023-12-31", min_width=120)
                        sources = gr.Dropdown(
                            choices=library.sources(),
                            multiselect=True,
                            label="Only these outlets or articles (empty: all)",
                            elem_id="source-filter",
                        )
                        with gr.Row():
                            top_k = gr.Slider(
                                1, 10, value=config.top_k, step=1, label="Passages to search", min_width=160
                            )
                            model = gr.Dropdown(
                                choices=library.models(),
                                value=library.default_model,
                                label="Model",
                                elem_id="model-choice",
                                min_width=160,
                            )
                    chat = gr.Chatbot(
                        label="Answers",
                        height=420,
                        elem_id="chat",
                        buttons=[],
                        feedback_options=None,
                        placeholder="Ask a question about the articles, or click an example below.",
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            show_label=False,
                            placeholder="Ask about the articles…",
                            elem_id="question",
                            scale=5,
                            min_width=200,
                            submit_btn=False,
                        )
                        send = gr.Button("Ask", variant="primary", elem_id="send", scale=1, min_width=70)
                    with gr.Row(elem_id="examples"):
                        example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
                    with gr.Row():
                        copy = gr.Button("Copy answer", size="sm", elem_id="copy-answer")
                        clear = gr.Button("New conversation", size="sm", elem_id="clear")
                    plain = gr.Textbox(visible="hidden", elem_id="answer-plain")
                with gr.Column(scale=2, min_width=280):
                    gr.Markdown("### Sources")
                    panel = gr.HTML(render_panel([]), elem_id="sources", padding=False)
            with gr.Tab("Library", id="library"):
                library_view = gr.HTML(render_library(library.assistant()), elem_id="library")
                gr.Markdown(
                    "### Add articles\n`.txt` or `.md` (optionally starting with ` date YYYY-MM-DD `), saved web "
                    "pages, JSONL/JSON/CSV exports, PDFs or RSS/Atom files. "
                    "Files that are not readable articles are rejected with the reason; "
                    "nothing already indexed is changed."
                )
                files = gr.File(file_count="multiple", file_types=list(SUFFIXES), label="Articles", elem_id="upload")
                add = gr.Button("Add to the index", variant="primary", elem_id="add-articles")
                status = gr.Markdown(elem_id="upload-status")

        inputs = [question, chat, exchanges, sources, date_from, date_to, top_k, model]
        outputs = [question, chat, panel, plain, exchanges]
        ask_options: dict[str, Any] = {"concurrency_id": "model", "concurrency_limit": 1, "api_visibility": "private"}
        question.submit(respond, inputs, outputs, **ask_options)
        send.click(respond, inputs, outputs, **ask_options)
        for button, text in zip(example_buttons, EXAMPLES, strict=True):
            button.click(lambda t=text: t, None, question, queue=False, api_visibility="private").then(
                respond, inputs, outputs, **ask_options
            )
        copy.click(None, plain, None, js=COPY_JS, api_visibility="private")
        reset = (lambda: ([], [], render_panel([]), ""), None, [chat, exchanges, panel, plain])
        clear.click(*reset, api_visibility="private")
        chat.clear(*reset, api_visibility="private")
        add.click(
            add_articles,
            files,
            [status, library_view, sources, files],
            concurrency_id="index",
            concurrency_limit=1,
            api_visibility="private",
        )
        page.load(refresh, None, [library_view, sources], api_visibility="private")
        gr.api(ask, api_name="ask", concurrency_id="model", concurrency_limit=1)
    return page


def sources_markdown(answer: Answer) -> str:
    """The citations as Markdown, for API callers."""
    if not answer.citations:
        return "_No passage supports an answer._" if not answer.answered else ""
    rows = [f"**[{c.n}]** {c.heading()}\n\n> {c.text}" for c in answer.citations]
    return "\n\n".join(rows)


def start(  # type: ignore[no-untyped-def]
    page, host: str = "127.0.0.1", port: int = 7860, block: bool = True, max_upload_bytes: int = Config.max_upload_bytes
) -> str:
    """Serve the page through Gradio's queue, so concurrent users wait their turn for the model
    (one generation at a time on a 2-core machine) without blocking the library or each other's pages."""
    page.queue(default_concurrency_limit=4).launch(
        server_name=host,
        server_port=port,
        inbrowser=False,
        prevent_thread_lock=not block,
        quiet=not block,
        css=CSS,
        head=HEAD,
        footer_links=["api"],
        max_file_size=max_upload_bytes,
    )
    return f"http://{host}:{port}/"


def launch(config: Config, host: str = "127.0.0.1", port: int = 7860) -> None:
    library = Library(config)
    # Load the model and pre-fill the prompt prefix before the first visitor asks.
    library.assistant().warm_up()
    start(build(library), host, port, max_upload_bytes=config.max_upload_bytes)


__all__ = ["RagError", "build", "launch", "start"]
