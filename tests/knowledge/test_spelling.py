"""Misspelt questions find what the correct spelling finds; foreign words stay foreign."""

from pathlib import Path

import pytest

from knowledge.config import RetrievalSettings, Settings
from knowledge.ingest import ingest_folder
from knowledge.pleasantries import without_pleasantries
from knowledge.service import KnowledgeBase
from knowledge.spelling import index_words
from knowledge.store import ChunkStore

ARTICLES = {
    "shipping-costs": (
        "Shipping costs",
        "## Standard delivery\nStandard shipping costs $6.95 and arrives in 3-5 business days.\n"
        "## Express delivery\nExpress shipping costs $14.95 and arrives the next business day.",
    ),
    "thermostat-wifi": (
        "Connect your thermostat to Wi-Fi",
        "## Connecting\nOpen the app, choose Add device and pick your home network. The thermostat "
        "connects within a minute.\n## Error W3\nW3 on the screen means the thermostat cannot reach "
        "the router: move the router closer or restart it.",
    ),
    "refunds": (
        "Refund timeline",
        "## When the money arrives\nA refund reaches your card 5-10 business days after the return "
        "is received at the warehouse. We notify you by email when it is issued.",
    ),
    "plans": (
        "Change or cancel your plan",
        "## Cancel\nCancel your subscription any time under Account > Plan. Your plan stays active "
        "until the end of the billing period.",
    ),
}


def write(root: Path, articles: dict[str, tuple[str, str]]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for slug, (title, body) in articles.items():
        (root / f"{slug}.md").write_text(
            f"---\ntitle: {title}\nurl: https://help.example/{slug}\n---\n{body}\n"
        )


@pytest.fixture(scope="module")
def kb(tmp_path_factory, embedder) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("spelling")
    write(root / "articles", ARTICLES)
    uri = str(root / "kb")
    ingest_folder(root / "articles", ChunkStore(uri), embedder.embed)
    return KnowledgeBase(Settings(retrieval=RetrievalSettings(uri=uri)), embedder=embedder)


@pytest.mark.parametrize(
    ("typed", "meant", "article"),
    [
        ("shiping cost??", "shipping cost??", "shipping-costs"),
        ("thermstat wont conect to wifi", "thermostat wont connect to wifi", "thermostat-wifi"),
        ("refund timline", "refund timeline", "refunds"),
        ("Refund timline?", "Refund timeline?", "refunds"),
    ],
)
def test_a_misspelt_question_finds_the_article_the_right_spelling_finds(kb, typed, meant, article):
    result = kb.search(typed)
    assert result.article_ids()[0] == article == kb.search(meant).article_ids()[0]
    assert result.searched == meant
    # what the customer wrote stays what the result (and so the conversation) records
    assert result.query == typed


def test_misspelt_words_reach_the_full_text_search(kb):
    """A word the index never uses matches nothing in BM25; mended, it matches the article."""
    result = kb.search("thermstat")
    assert result.searched == "thermostat"
    assert any(p.fts_score for p in result.passages if p.article_id == "thermostat-wifi")

    kb.retriever.spelling = False
    try:
        typed = kb.search("thermstat")
    finally:
        kb.retriever.spelling = True
    assert typed.searched == "thermstat"
    assert not any(p.fts_score for p in typed.passages)


@pytest.mark.parametrize(
    "question",
    [
        "cancel my spotify subscription",  # one edit from nothing here ("notify" is two)
        "cancel my netflix subscription",  # a word the model knows whole
        "does it work with zigbee",
        "thermostat shows W3",
        "thermostat shows W3E",
        "email refunds@nimbus-help.example about my refund",
        "see https://help.example/refunds please",
        "does it work with my iPhone",
    ],
)
def test_brand_names_codes_and_addresses_are_left_as_typed(kb, question):
    assert kb.retriever.correct(question) == question
    # Searched as typed, but for a closing "please" (`knowledge.pleasantries`).
    assert kb.search(question).searched == without_pleasantries(question)


def test_a_correction_is_always_a_word_the_index_uses(kb, tmp_path, embedder):
    """No help-centre word near enough: nothing is mended, whatever the model would guess."""
    vocabulary = kb.retriever.vocabulary()
    for typed in ("shiping", "thermstat", "conect", "timline", "subscripton", "warehuse"):
        meant = vocabulary.correct_word(typed)
        assert meant is not None and meant in vocabulary.counts

    others = {k: v for k, v in ARTICLES.items() if k != "shipping-costs"}
    write(tmp_path / "articles", others)
    uri = str(tmp_path / "kb")
    ingest_folder(tmp_path / "articles", ChunkStore(uri), embedder.embed)
    without = KnowledgeBase(Settings(retrieval=RetrievalSettings(uri=uri)), embedder=embedder)
    assert "shipping" not in index_words([a[0] + " " + a[1] for a in others.values()])
    result = without.search("shiping cost??")
    assert result.searched == "shiping cost??"


def test_a_word_ingested_while_the_bot_runs_is_used_by_the_next_question(tmp_path, embedder):
    write(tmp_path / "articles", {k: ARTICLES[k] for k in ("refunds", "plans")})
    uri = str(tmp_path / "kb")
    ingest_folder(tmp_path / "articles", ChunkStore(uri), embedder.embed)
    kb = KnowledgeBase(Settings(retrieval=RetrievalSettings(uri=uri)), embedder=embedder)
    assert kb.search("thermstat wont conect").searched == "thermstat wont conect"

    write(tmp_path / "articles", {"thermostat-wifi": ARTICLES["thermostat-wifi"]})
    ingest_folder(tmp_path / "articles", ChunkStore(uri), embedder.embed)

    result = kb.search("thermstat wont conect")
    assert result.searched == "thermostat wont connect"
    assert result.article_ids()[0] == "thermostat-wifi"


def test_the_extractive_answer_quotes_the_article_for_a_misspelt_question(kb):
    answer = kb.ask("how much is expres shiping")
    assert answer.method == "extractive"
    assert "$14.95" in answer.text


def test_a_question_in_another_language_is_searched_as_typed(kb):
    """Mended towards English articles, "mein Konto" would become "mein onto"."""
    question = "Wie kann ich mein Abonnement kündigen, bitte?"
    assert kb.retriever.correct("the subscripton") == "the subscription"
    assert kb.search(question, spelling=False).searched == question
    assert kb.search("cancel my subscripton", spelling=False).searched == "cancel my subscripton"


@pytest.mark.parametrize("memory_max_rows", [0, 2])
def test_a_table_searched_through_lancedb_mends_the_same_words(kb, embedder, memory_max_rows):
    """Without the in-memory copy (no copy, or a table above its threshold) the words come
    from a scan of the table: the question is mended and ranked as with the copy."""
    from knowledge.retrieval import Retriever

    retriever = Retriever(kb.store, embedder, RetrievalSettings(), memory_max_rows=memory_max_rows)
    result = retriever.search("thermstat wont conect to wifi")
    assert result.searched == "thermostat wont connect to wifi"
    assert result.article_ids()[0] == "thermostat-wifi"
