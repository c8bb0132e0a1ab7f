"""Follow-up questions rewritten into standalone ones: the guard, the fallback, and the real model."""

import re
from collections.abc import Iterator

from rag.search.conversation import Turn, combine, is_faithful, standalone_question, stands_alone

TROOPS_TURN = Turn("Which countries had troops in Niger?", "France, Germany, Italy, and the United States [1].")


class Scripted:
    """A stand-in generator that writes a fixed rewrite, to test the plumbing around the model."""

    def __init__(self, text: str) -> None:
        self.text = text

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        yield self.text


def test_a_question_that_stands_alone_is_used_as_asked():
    assert stands_alone("Who is the ousted president of Niger?")
    assert not stands_alone("and which of them revoked agreements?")
    assert not stands_alone("what about Germany?")
    assert not stands_alone("when was it?")
    rewrite = standalone_question("Who is the ousted president of Niger?", [TROOPS_TURN], Scripted("Anything?"))
    assert rewrite.question == "Who is the ousted president of Niger?" and not rewrite.changed


def test_without_history_nothing_is_rewritten():
    assert standalone_question("and which of them?", [], Scripted("x?")).method == "as asked"


def test_a_rewrite_that_adds_words_from_outside_the_conversation_is_discarded():
    injected = "Which of the countries with troops in Niger revoked agreements after the Russian coup?"
    assert not is_faithful(injected, "and which of them revoked agreements?", [TROOPS_TURN])
    rewrite = standalone_question("and which of them revoked agreements?", [TROOPS_TURN], Scripted(injected))
    assert rewrite.method == "combined"
    assert rewrite.question == "Which countries had troops in Niger, and which of them revoked agreements?"


def test_a_rewrite_that_drops_the_follow_up_or_resolves_nothing_is_discarded():
    question = "and which of them revoked agreements?"
    assert not is_faithful("Which countries had troops in Niger?", question, [TROOPS_TURN])
    assert not is_faithful("Which of them revoked agreements?", question, [TROOPS_TURN])
    assert is_faithful(
        "Which of France, Germany, Italy and the United States revoked agreements?", question, [TROOPS_TURN]
    )


def test_a_failing_or_rambling_model_falls_back_to_combining():
    class Broken:
        def stream(self, messages, max_tokens):
            raise RuntimeError("model crashed")
            yield ""

    assert standalone_question("what about Germany?", [TROOPS_TURN], Broken()).method == "combined"
    rambling = Scripted("France revoked agreements [1].")
    assert standalone_question("what about Germany?", [TROOPS_TURN], rambling).method == "combined"
    assert combine("Who leads Niger?", "and since when?") == "Who leads Niger, and since when?"


def test_follow_up_with_the_real_model_keeps_the_context_and_gets_answered(assistant):
    # As the page passes it: the earlier question and the verified answer that was shown.
    rewrite = standalone_question("and which of them revoked agreements?", [TROOPS_TURN], assistant.generator)
    assert rewrite.changed
    assert re.search(r"troops", rewrite.question, re.IGNORECASE) and "Niger" in rewrite.question
    assert re.search(r"revok", rewrite.question, re.IGNORECASE)
    answer = assistant.ask(rewrite.question)
    assert answer.answered and "France" in answer.text
    assert any("revoked various military agreements with France" in c.text for c in answer.citations), (
        answer.text,
        answer.citations,
    )


def test_a_follow_up_through_the_python_api_and_the_cli(assistant, seed_config):
    answer = assistant.ask("and which of them revoked agreements?", history=[TROOPS_TURN])
    assert re.search(r"troops", answer.searched_for, re.IGNORECASE) and answer.question.startswith("and which")
    assert answer.answered and "France" in answer.text

    from .test_cli import rag

    typed = "Which countries had troops in Niger?\nand which of them revoked agreements?\n"
    result = rag("chat", config=seed_config, stdin=typed)
    assert result.returncode == 0, result.stderr
    assert "Italy" in result.stdout and "searched for" in result.stderr
    assert "revoked various military agreements with France" in result.stdout  # the follow-up's evidence
