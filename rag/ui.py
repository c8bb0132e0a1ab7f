"""The Gradio chat page: a thin shell over `Assistant.stream`."""

from __future__ import annotations

import html
from collections.abc import Iterator

from .assistant import Assistant
from .config import Config
from .errors import RagError
from .types import Answer


def render_sources(answer: Answer) -> str:
    if not answer.citations:
        return "_No passage supports an answer._" if not answer.answered else ""
    rows = [f"**[{c.n}]** `{c.source}` ({c.date or 'undated'})\n\n> {html.escape(c.text)}" for c in answer.citations]
    return "\n\n".join(rows)


def build(assistant: Assistant):  # type: ignore[no-untyped-def]
    import gradio as gr

    def respond(message: str, history: list) -> Iterator[tuple[str, str]]:  # type: ignore[type-arg]
        draft = ""
        try:
            for item in assistant.stream(message):
                if isinstance(item, Answer):
                    yield item.text, render_sources(item)
                else:
                    draft += item
                    yield draft, "_checking the answer against the articles…_"
        except RagError as exc:
            yield f"⚠️ {exc}", ""

    with gr.Blocks(title="Ask the articles") as page:
        gr.Markdown("## Ask the articles\nAnswers come only from the indexed news articles, with each claim cited.")
        sources = gr.Markdown(label="Sources", render=False)
        gr.ChatInterface(
            fn=respond,
            additional_outputs=[sources],
            api_name="ask",
            examples=[["Which countries had troops in Niger?"], ["Who is the ousted president of Niger?"]],
        )
        gr.Markdown("### Sources")
        sources.render()
    return page


def launch(config: Config, host: str = "127.0.0.1", port: int = 7860) -> None:
    assistant = Assistant(config)
    build(assistant).queue().launch(server_name=host, server_port=port, inbrowser=False)


__all__ = ["RagError", "build", "launch"]
