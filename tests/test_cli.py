"""The `rag` command, run as a user would run it."""

import json
import os
import subprocess
import sys

from .conftest import ROOT, TROOPS


def rag(*args: str, config=None, stdin: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if config is not None:
        env.update(RAG_CORPUS_DIR=str(config.corpus_dir), RAG_INDEX_DIR=str(config.index_dir))
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        input=stdin,
    )


def test_ask_prints_the_answer_and_its_cited_passages(seed_config, assistant):
    result = rag("ask", "Which countries had troops in Niger?", config=seed_config)
    assert result.returncode == 0, result.stderr
    assert "Italy" in result.stdout and TROOPS in result.stdout
    assert "000_e4d5b5d28518737a.txt (2023-11-11)" in result.stdout


def test_ask_json_gives_offsets(seed_config, assistant):
    result = rag("ask", "--json", "Who is the current president of Brazil?", config=seed_config)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["answered"] is False and data["citations"] == []


def test_empty_question_exits_with_a_message_not_a_traceback(seed_config, assistant):
    result = rag("ask", "  ", config=seed_config)
    assert result.returncode == 2
    assert "error: the question is empty" in result.stderr and "Traceback" not in result.stderr


def test_missing_model_exits_with_what_to_run(seed_config, assistant):
    result = rag("ask", "--model", "nonexistent.gguf", "Who leads Niger?", config=seed_config)
    assert result.returncode == 2 and "no model file 'nonexistent.gguf'" in result.stderr


def test_index_and_models_commands(tmp_path, seed_config):
    result = rag("index", str(seed_config.corpus_dir), "--index-dir", str(tmp_path / "idx"))
    assert result.returncode == 0, result.stderr
    assert "added 2" in result.stdout
    listing = rag("models")
    assert listing.returncode == 0 and "qwen2.5-1.5b" in listing.stdout


def test_an_index_is_opened_with_its_own_folder_and_never_emptied_by_another(tmp_path):
    news = tmp_path / "news"
    news.mkdir()
    (news / "cotonou.txt").write_text(" date 2024-02-01 The port of Cotonou reopened its northern terminal on Monday.")
    index_dir = str(tmp_path / "news-index")
    assert rag("index", str(news), "--index-dir", index_dir).returncode == 0
    again = rag("index", "--index-dir", index_dir)
    assert again.returncode == 0, again.stderr
    assert "removed 0" in again.stdout and "unchanged 1" in again.stdout
    other = rag("index", str(ROOT / "seeds"), "--index-dir", index_dir)
    assert other.returncode == 2 and "would remove" in other.stderr and "Traceback" not in other.stderr


def test_ask_on_a_day_before_every_article_cites_none_of_them(seed_config, assistant):
    result = rag(
        "ask", "--json", "--asked-on", "2023-08-01", "Which countries had troops in Niger?", config=seed_config
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["answered"] is False and data["citations"] == []
    assert data["window"]["end"] == "2023-08-01"


def test_ask_shows_the_window_its_time_words_set(seed_config, assistant):
    result = rag(
        "ask", "--asked-on", "2023-08-17", "What did the bloc's leaders approve last week?", config=seed_config
    )
    assert result.returncode == 0, result.stderr
    assert "Preferring articles from 2023-08-03 to 2023-08-11 (“last week”)" in result.stderr
    assert "standby force" in result.stdout  # reported after the week it happened: a preference, not a wall


def test_an_asked_on_that_is_not_a_date_is_a_clear_error(seed_config, assistant):
    result = rag("ask", "--asked-on", "last Friday", "Who is the ousted president of Niger?", config=seed_config)
    assert result.returncode == 2 and "asked_on" in result.stderr and "Traceback" not in result.stderr


def test_eval_saves_each_judged_answer_with_its_citations(tmp_path, seed_config, assistant):
    questions = tmp_path / "q.jsonl"
    lines = [
        {"id": "troops", "question": "Which countries had troops in Niger?", "expect": ["italy"]},
        {"id": "gdp", "question": "What was Niger's GDP in 2022?", "unanswerable": True, "asked_on": "2023-08-20"},
    ]
    questions.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    saved = tmp_path / "answers.jsonl"
    result = rag("eval", str(questions), "--save", str(saved), config=seed_config)
    assert result.returncode == 0, result.stderr
    troops, gdp = (json.loads(line) for line in saved.read_text(encoding="utf-8").splitlines())
    assert troops["id"] == "troops" and troops["correct"] and "Italy" in troops["text"]
    assert any("Italy" in c["text"] for c in troops["citations"])
    assert gdp["asked_on"] == "2023-08-20" and gdp["correct"] and not gdp["answered"]
