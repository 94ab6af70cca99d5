"""Customer words find the help centre's articles when the thesaurus is on, and nothing
changes when it is off (knowledge/thesaurus.py, opt-in: KB_THESAURUS)."""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from knowledge.config import SAMPLE_ARTICLES, RetrievalSettings, Settings
from knowledge.ingest import ingest_folder
from knowledge.service import KnowledgeBase
from knowledge.store import ChunkStore
from knowledge.thesaurus import PACKAGED, expansions, thesaurus

# Real articles of the sample help centre: siblings a customer's word can confuse.
SAMPLE = (
    "track-your-order",
    "damaged-or-lost-package",
    "shipping-options-and-costs",
    "payment-methods",
    "failed-payment",
    "return-policy",
    "start-a-return",
    "refund-timing",
)


@pytest.fixture(scope="module")
def uri(tmp_path_factory, embedder) -> str:
    root = tmp_path_factory.mktemp("thesaurus")
    (root / "articles").mkdir()
    for slug in SAMPLE:
        shutil.copy(Path(SAMPLE_ARTICLES) / f"{slug}.md", root / "articles" / f"{slug}.md")
    uri = str(root / "kb")
    ingest_folder(root / "articles", ChunkStore(uri), embedder.embed)
    return uri


def engine(uri: str, embedder, **retrieval) -> KnowledgeBase:
    return KnowledgeBase(Settings(retrieval=RetrievalSettings(uri=uri, **retrieval)), embedder=embedder)


@pytest.mark.parametrize(
    ("question", "article", "sibling"),
    [
        # customer words: "package" is the articles' order, "paypal" asks for payment methods
        ("where is my package", "track-your-order", "damaged-or-lost-package"),
        ("can i pay with paypal", "payment-methods", "failed-payment"),
    ],
)
def test_a_question_in_customer_words_finds_the_article_with_the_thesaurus_on(
    uri, embedder, question, article, sibling
):
    off = engine(uri, embedder).search(question)
    on = engine(uri, embedder, thesaurus="both").search(question)
    assert off.article_ids()[0] == sibling
    assert on.article_ids()[0] == article
    assert on.expanded and not off.expanded
    # the customer's words stay what is recorded and what the decision's coverage reads
    assert on.query == on.searched == question


def test_off_by_default_and_kb_thesaurus_turns_it_on(monkeypatch, uri, embedder):
    monkeypatch.delenv("KB_THESAURUS", raising=False)
    assert RetrievalSettings.from_env().thesaurus == RetrievalSettings().thesaurus == "off"
    monkeypatch.setenv("KB_THESAURUS", "fts")
    assert RetrievalSettings.from_env().thesaurus == "fts"
    monkeypatch.setenv("KB_THESAURUS", "0")
    assert RetrievalSettings.from_env().thesaurus == "off"
    with pytest.raises(ValueError, match="thesaurus mode"):
        engine(uri, embedder, thesaurus="everything")


def test_only_words_the_articles_use_are_added(uri, embedder):
    kb = engine(uri, embedder, thesaurus="fts")
    kb.retriever.vocabulary()
    # "money back" -> refund (the articles say refund); "sign in" -> log in (these
    # articles never mention logging in, so nothing is added)
    assert "refund" in kb.search("how do i get my money back").expanded
    assert kb.search("i cant sign in").expanded == ()
    assert expansions("i cant sign in") == ["log", "login"]


def test_a_question_in_another_language_gets_no_english_words(uri, embedder):
    kb = engine(uri, embedder, thesaurus="both")
    assert kb.retriever.search("where is my package", spelling=False).expanded == ()


def test_a_phrase_is_read_before_its_words():
    assert expansions("can i send it back?") == ["return"]
    assert expansions("stop paying", {"cancel"}) == ["cancel"]
    # nothing the question already says is added again
    assert expansions("refund my money back") == []


def test_a_support_team_extends_it_with_its_own_file(tmp_path, uri, embedder):
    own = tmp_path / "thesaurus.yml"
    own.write_text("porch pirate: lost package stolen\nstole: stolen\n")
    assert expansions("a porch pirate took it") == []
    assert expansions("a porch pirate took it", table=thesaurus(str(own))) == ["lost", "package", "stolen"]
    kb = engine(uri, embedder, thesaurus="fts", thesaurus_file=str(own))
    result = kb.search("a porch pirate took it")
    # "stolen" is not a word of these articles, so only the other two are searched
    assert result.expanded == ("lost", "package")
    assert result.article_ids()[0] == "damaged-or-lost-package"


def test_the_packaged_thesaurus_is_well_formed():
    mapping = yaml.safe_load(PACKAGED.read_text(encoding="utf-8"))
    assert len(mapping) > 200
    for key, words in mapping.items():
        key = str(key)
        assert key == key.lower().strip() and str(words).strip(), key
        # a "*" only ends a single word (a phrase is matched word for word)
        assert "*" not in key or (" " not in key and key.endswith("*") and len(key) > 4), key


def test_settings_replace_keeps_the_mode(uri, embedder):
    settings = replace(RetrievalSettings(uri=uri), thesaurus="vector")
    kb = KnowledgeBase(Settings(retrieval=settings), embedder=embedder)
    result = kb.search("do you ship abroad")
    assert result.expanded and kb.retriever.thesaurus == "vector"
