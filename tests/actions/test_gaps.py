"""What the articles are missing: refusals are recorded, and unanswered questions group by topic."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter

import pytest
from sklearn.metrics import adjusted_rand_score

from actions import gaps, gaps_store
from actions.console import adapter
from actions.feedback_store import UNHELPFUL, FeedbackStore
from actions.gaps_store import GapsStore
from knowledge.documents import Answer, Passage, Source
from tests.actions.gap_topics import TOPICS
from tests.actions.gap_topics_check import CHECK_TOPICS

CHANNELS = ("slack", "telegram", "sms", "rest")


@pytest.fixture(scope="module")
def embedder():
    from knowledge.embedding import default_embedder

    return default_embedder()


@pytest.fixture(scope="module")
def article_vectors(sample_kb_uri, embedder):
    """The sample articles' chunk vectors, read as the console reads the knowledge base."""
    from knowledge.config import RetrievalSettings, Settings
    from knowledge.service import KnowledgeBase

    kb = KnowledgeBase(Settings(retrieval=RetrievalSettings(uri=sample_kb_uri)), embedder=embedder)
    vectors = adapter.article_vectors(kb)
    assert vectors is not None and len(vectors) > 100
    return vectors


@pytest.fixture
def stores(tmp_path, monkeypatch, feedback_db):
    monkeypatch.setenv("GAPS_DB", str(tmp_path / "gaps.sqlite"))
    gaps_store._build_gaps_store.cache_clear()
    yield GapsStore(), FeedbackStore(feedback_db)
    gaps_store._build_gaps_store.cache_clear()


def feed_sixty(gaps_db: GapsStore, feedback: FeedbackStore) -> dict[str, str]:
    """The 60 questions as the bot would have left them: refused, handed over or judged unhelpful."""
    truth = {}
    for t, (topic, questions) in enumerate(TOPICS.items()):
        for i, question in enumerate(questions):
            channel = CHANNELS[(t + i) % len(CHANNELS)]
            conversation = f"c-{t}-{i}"
            if i % 3 == 2:
                answer = Answer(text="Something not quite it [1].", sources=[Source(1, "Plans", "", "plans")])
                ref = feedback.record_answer(conversation, channel, question, answer)
                feedback.record_verdict(ref, UNHELPFUL, channel)
            else:
                gaps_db.record(conversation, channel, question, "handoff" if i % 3 == 1 else "refused", "en")
            truth[question] = topic
    return truth


def test_a_refusal_is_recorded_with_channel_language_and_nearest_article(stores):
    gaps_db, _ = stores
    passage = Passage("c1", "warranty", "Warranty", "", "", "text", 0.3)
    refusal = Answer(text="", grounded=False, method="abstain", passages=[passage])
    asyncio.run(gaps_store.record_unanswered("sms:abc", "sms", "do you sell gift cards", refusal, "en"))
    asyncio.run(gaps_store.record_unanswered("t-1", "telegram", "alexa?", refusal, "", handoff=True))
    rows = gaps_db.recent()
    assert {(r.question, r.channel, r.kind, r.language, r.nearest_article) for r in rows} == {
        ("do you sell gift cards", "sms", "refused", "en", "warranty"),
        ("alexa?", "telegram", "handoff", "", "warranty"),
    }


def test_a_broken_gaps_database_does_not_fail_the_customers_turn(stores, monkeypatch, caplog):
    def broken():
        raise OSError("disk full")

    monkeypatch.setattr(gaps_store, "gaps_store", broken)
    refusal = Answer(text="", grounded=False, method="abstain")
    asyncio.run(gaps_store.record_unanswered("c", "rest", "anything", refusal))
    assert "could not record an unanswered question" in caplog.text


def test_sixty_unanswered_questions_group_into_their_six_topics(stores, embedder, article_vectors):
    """Through the stores, as the console reads them: every known topic gets a group of its
    own holding most of its questions, each group named by one of its own questions."""
    truth = feed_sixty(*stores)
    questions = adapter.gap_questions()
    assert len(questions) == 60
    assert Counter(q.kind for q in questions) == {"refused": 24, "handoff": 18, "unhelpful": 18}
    groups = gaps.group_questions(
        questions, embed=embedder.embed, nearest=None, article_vectors=lambda: article_vectors
    )
    assert sum(g.count for g in groups) == 60
    predicted = {q.question: n for n, g in enumerate(groups) for q in g.questions}
    majority = {}
    for topic, members in TOPICS.items():
        group, size = Counter(predicted[q] for q in members).most_common(1)[0]
        majority[topic] = group
        assert size >= 6, f"{topic}: only {size} of 10 questions in one group"
    assert len(set(majority.values())) == 6, "two topics share one group"
    for group in groups:
        assert group.name in {q.question for q in group.questions}
    score = adjusted_rand_score([truth[q] for q in predicted], list(predicted.values()))
    assert score >= 0.8, score  # the issue's bar (0.81 measured: docs/console.md)


@pytest.mark.parametrize("topics", [TOPICS, CHECK_TOPICS], ids=["test-set", "check-set"])
def test_grouping_reaches_the_issues_adjusted_rand_bar(embedder, article_vectors, topics):
    """On the issue's sixty questions and on a second set worded differently (never tuned
    on); without the articles' common meaning taken out, they group at 0.71 and 0.80."""
    texts = [q for qs in topics.values() for q in qs]
    truth = [t for t, qs in topics.items() for _ in qs]
    directions = gaps.article_directions(article_vectors)
    labels = gaps.cluster(embedder.embed(texts), directions=directions)
    assert adjusted_rand_score(truth, labels) >= 0.8


def test_paraphrases_alone_stay_one_group_and_unrelated_pairs_split(embedder, article_vectors):
    same = embedder.embed(["do you sell gift cards", "do you sell gift cards?"])
    apart = embedder.embed(["do you sell gift cards", "does the thermostat work with alexa"])
    directions = gaps.article_directions(article_vectors)
    assert gaps.cluster(same, directions=directions).tolist() == [0, 0]
    assert gaps.cluster(apart, directions=directions).tolist() == [0, 1]


def test_the_command_prints_groups_and_writes_the_csv(stores, embedder, monkeypatch, capsys, tmp_path):
    feed_sixty(*stores)
    monkeypatch.setattr(gaps, "group_questions", _with_embedder(embedder))
    out = tmp_path / "gaps.csv"
    assert gaps.main(["--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("60 questions in ")
    assert "why:" in printed and "channels:" in printed and "languages:" in printed
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 60 and set(rows[0]) == set(gaps.CSV_HEADER)
    assert {r["kind"] for r in rows} == {"refused", "handoff", "unhelpful"}
    assert all(r["group"] in {x["question"] for x in rows if x["group"] == r["group"]} for r in rows)


def _with_embedder(embedder):
    original = gaps.group_questions

    def group(questions, embed=None, nearest=None):
        return original(questions, embed=embedder.embed, nearest=None, article_vectors=None)

    return group


def test_no_questions_no_groups():
    assert gaps.group_questions([], embed=lambda texts: None) == []
    assert gaps.to_text([]).startswith("No unanswered")


@pytest.fixture(scope="module")
def kb(sample_kb_uri, embedder):
    from knowledge.config import RetrievalSettings, Settings
    from knowledge.service import KnowledgeBase

    return KnowledgeBase(Settings(retrieval=RetrievalSettings(uri=sample_kb_uri)), embedder=embedder)


def test_the_knowledge_action_records_what_it_refuses_and_what_it_hands_over(kb, stores, monkeypatch):
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions import knowledge_action

    monkeypatch.setattr(knowledge_action, "knowledge_base", lambda: kb)
    monkeypatch.delenv("HANDOFF_WEBHOOK_URL", raising=False)

    def ask(text: str, unanswered: float, channel: str = "telegram") -> None:
        message = {"text": text, "intent": {"name": "ask_knowledge"}, "metadata": {"language": "en"}}
        user = {"event": "user", "text": text, "input_channel": channel, "parse_data": message}
        tracker = Tracker("t-42", {"unanswered_count": unanswered}, message, [user], False, None, {}, "")
        asyncio.run(knowledge_action.ActionSearchKnowledge().run(CollectingDispatcher(), tracker, {}))

    ask("do you sell gift cards", 0)
    ask("can I pay with a gift voucher then", 1)
    ask("how long does a refund take", 0)  # answered: not a gap
    found = {q.question: q for q in adapter.gap_questions()}
    assert set(found) == {"do you sell gift cards", "can I pay with a gift voucher then"}
    assert all(q.channel == "telegram" for q in found.values())
    # Refused outright (recorded by the action), or offered the nearest articles (kept with
    # the answers) by an engine that has that third outcome.
    first, second = found["do you sell gift cards"], found["can I pay with a gift voucher then"]
    assert first.kind in {"refused", "suggested"}
    assert second.kind in {"handoff", "suggested"}  # the second miss in a row hands over
    refused = [q for q in found.values() if q.kind != "suggested"]
    assert all(q.language == "en" and q.nearest_article for q in refused)


def test_questions_answered_only_with_suggestions_are_gaps_too(stores):
    _, feedback = stores
    offered = Answer(text="", grounded=False, method="suggest")
    feedback.record_answer("c-9", "slack", "can I pause my plan for the summer", offered)
    feedback.record_answer("c-9", "slack", "how long is the warranty", Answer(text="Two years [1]."))
    questions = adapter.gap_questions()
    assert [(q.question, q.kind, q.channel) for q in questions] == [
        ("can I pause my plan for the summer", "suggested", "slack")
    ]
