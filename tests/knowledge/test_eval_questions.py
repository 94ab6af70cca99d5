"""`kb eval --questions FILE --articles DIR`: a team's own questions on its own articles."""

from pathlib import Path

import pytest

from knowledge.calibration import ABSTAIN, ANSWER, SUGGEST
from knowledge.cli import main
from knowledge.eval.dataset import part_for
from knowledge.evaluation import WHOLE_FILE, Question, Record, format_misses, load_questions_file

# A help centre that has nothing to do with the sample one (bike rentals), so nothing in
# the engine can lean on the sample articles it was tuned on.
ARTICLES = {
    "rent-a-bike": (
        "Renting a bike",
        "## Day and week prices\nA city bike costs 15 euros per day and 60 euros per week. "
        "Children's bikes are half price.\n\n## How to rent\nPick a bike at any station, scan "
        "its code with the app and ride away.\n\n## Returning the bike\nLeave it at any station "
        "and push it into a free dock until the light turns green.",
    ),
    "lost-lock-key": (
        "Lost the key to your bike lock",
        "## What to do\nCall the station you rented from and tell us the bike number. A "
        "mechanic cuts the lock and fits a new one.\n\n## Replacement fee\nA new lock and key "
        "cost 25 euros, charged to the card you rented with.\n\n## Spare keys\nStations keep "
        "no spare keys, for the riders' safety.",
    ),
    "helmets": (
        "Helmets and child seats",
        "## Free helmets\nEvery rental includes a free helmet in your size; ask at the station "
        "desk.\n\n## Child seat rental\nA child seat for children up to 22 kg can be added for "
        "3 euros per day.\n\n## Cleaning and hygiene\nHelmets are cleaned after every rental "
        "and come with a disposable liner.",
    ),
}

QUESTIONS = """\
questions:
  - {id: mine-1, q: "how much is it to rent a bike for one day?", article: rent-a-bike, facts: ["15 euros"]}
  - {id: mine-2, q: "i lost the key of my bike lock, what should i do", article: lost-lock-key,
     facts: ["cuts the lock"]}
  - {id: mine-3, q: "what is a good recipe for banana bread", kind: off_topic}
"""


def write_articles(root: Path) -> Path:
    root.mkdir()
    for slug, (title, body) in ARTICLES.items():
        (root / f"{slug}.md").write_text(
            f"---\ntitle: {title}\nurl: https://bikes.example/{slug}\n---\n{body}\n", encoding="utf-8"
        )
    return root


def metric_row(output: str, name: str) -> tuple[str, int]:
    """(value as printed, n) of one row of the metric table."""
    for line in output.splitlines():
        if line.startswith(name + " "):
            value, n = line[len(name) :].split()[:2]
            return value, int(n)
    raise AssertionError(f"no row {name!r} in:\n{output}")


def test_own_questions_on_own_articles(tmp_path, embedder, capsys):
    articles = write_articles(tmp_path / "articles")
    questions = tmp_path / "mine.yml"
    questions.write_text(QUESTIONS, encoding="utf-8")

    code = main(["eval", "--questions", str(questions), "--articles", str(articles), "--show-misses"])
    out = capsys.readouterr().out
    assert code == 0
    assert "== articles, all questions of mine.yml (3 English questions) ==" in out
    assert "tune part" not in out and "test part" not in out  # the file is one part
    assert "calibrated on" in out  # the folder's own bars, as `kb ingest` sets them
    assert metric_row(out, "answerable: right article first") == ("1.000", 2)
    assert metric_row(out, "off-topic: no confident answer") == ("1.000", 1)
    misses = out.split("misses (", 1)[1]
    assert "mine-3" not in misses  # the unrelated question was not answered confidently
    assert "answer check, all questions (3 English questions)" in out


def test_a_malformed_file_names_the_question_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "questions:\n"
        "  - {id: ok-1, q: 'refund??', article: return-policy, facts: ['30 days']}\n"
        "  - {id: mine-7, q: 'how long is the warranty', article: warranty}\n",
        encoding="utf-8",
    )
    assert main(["eval", "--questions", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "mine-7" in err and "fact" in err and len(err.splitlines()) == 1
    bad.write_text("questions:\n  - {id: mine-8, q: 'hello', kind: smalltalk}\n", encoding="utf-8")
    assert main(["eval", "--questions", str(bad)]) == 2
    assert "mine-8" in capsys.readouterr().err
    bad.write_text("questions:\n  - {id: x, q: 'unterminated\n", encoding="utf-8")
    assert main(["eval", "--questions", str(bad)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_an_article_not_in_the_index_exits_2(tmp_path, capsys):
    articles = write_articles(tmp_path / "articles")
    questions = tmp_path / "mine.yml"
    # return-policy is a sample article, not one of this folder's
    questions.write_text(
        "questions:\n  - {id: mine-9, q: 'can i return it', article: return-policy, facts: ['30 days']}\n",
        encoding="utf-8",
    )
    assert main(["eval", "--questions", str(questions), "--articles", str(articles)]) == 2
    err = capsys.readouterr().err
    assert "mine-9" in err and "'return-policy' is not in the index" in err
    # against the sample help centre (no --articles), a misspelt slug is refused too
    questions.write_text(QUESTIONS.replace("article: rent-a-bike", "article: warrranty"), encoding="utf-8")
    assert main(["eval", "--questions", str(questions)]) == 2
    assert "did you mean 'warranty'" in capsys.readouterr().err


def test_flags_that_need_questions_or_do_not_go_with_them(capsys):
    assert main(["eval", "--show-misses"]) == 2
    assert "--questions" in capsys.readouterr().err
    assert main(["eval", "--questions", "x.yml", "--calibrate"]) == 2
    assert "--calibrate" in capsys.readouterr().err


def test_one_part_unless_split(tmp_path):
    questions = tmp_path / "mine.yml"
    questions.write_text(QUESTIONS, encoding="utf-8")
    slugs = list(ARTICLES)
    assert {q.part for q in load_questions_file(questions, slugs)} == {WHOLE_FILE}
    split = load_questions_file(questions, slugs, split=True)
    assert [q.part for q in split] == [part_for(q.q, q.history) for q in split]
    assert [q.kind for q in split] == ["answerable", "answerable", "off_topic"]
    with pytest.raises(ValueError, match="mine-1: article 'rent-a-bike' is not in the index"):
        load_questions_file(questions, ["helmets"])


def test_misses_list_what_the_customer_was_let_down_on():
    def record(qid, kind, ranking, outcome, article=None):
        question = Question(qid, f"question {qid}?", article, kind)
        return Record(question, tuple(ranking), outcome)

    records = [
        record("a-right", "answerable", ["a"], ANSWER, "a"),
        record("a-wrong", "answerable", ["b", "a"], ANSWER, "a"),
        record("a-unsure", "answerable", ["a"], SUGGEST, "a"),
        record("n-answered", "near_miss", ["b"], ANSWER),
        record("n-suggested", "near_miss", ["b"], SUGGEST),
        record("o-abstained", "off_topic", ["c"], ABSTAIN),
        record("h-answered", "handoff", ["c"], ANSWER),
    ]
    lines = format_misses(records).splitlines()[1:]
    assert [line.split()[0] for line in lines] == ["a-wrong", "a-unsure", "n-answered"]
    assert lines[0].split()[1:6] == ["answer", "top:", "b", "labelled:", "a"]
    assert lines[2].split()[1:6] == ["answer", "top:", "b", "labelled:", "near_miss"]
    assert format_misses(records[:1]).splitlines()[1:] == ["  none"]
