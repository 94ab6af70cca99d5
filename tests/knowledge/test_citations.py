from knowledge.answer.citations import apply_citations
from knowledge.documents import Passage


def passage(n: int, article: str, url: str | None = None) -> Passage:
    return Passage(
        chunk_id=f"{article}#{n}",
        article_id=article,
        title=article.replace("-", " ").title(),
        url=url if url is not None else f"https://help.example/{article}",
        section="",
        text="...",
        score=1.0,
    )


PASSAGES = [passage(1, "returns"), passage(2, "shipping"), passage(3, "returns"), passage(4, "billing")]


def test_markers_are_renumbered_by_first_appearance():
    cited = apply_citations("Ship fast [2]. Return within 30 days [4].", PASSAGES)
    assert cited.text == "Ship fast [1]. Return within 30 days [2]."
    assert [(s.number, s.title) for s in cited.sources] == [(1, "Shipping"), (2, "Billing")]


def test_grouped_and_adjacent_markers_are_both_accepted():
    assert apply_citations("A [2, 4].", PASSAGES).text == "A [1][2]."
    assert apply_citations("A [2][4].", PASSAGES).text == "A [1][2]."
    assert apply_citations("A [2;4].", PASSAGES).text == "A [1][2]."


def test_passages_of_one_article_share_one_source_number():
    cited = apply_citations("One [1]. Two [3]. Both [1, 3].", PASSAGES)
    assert cited.text == "One [1]. Two [1]. Both [1]."
    assert len(cited.sources) == 1


def test_markers_matching_no_passage_are_dropped():
    cited = apply_citations("Real [2]. Invented [9]. Zero [0].", PASSAGES)
    assert cited.text == "Real [1]. Invented. Zero."
    assert len(cited.sources) == 1


def test_only_cited_sources_are_listed():
    cited = apply_citations("Only billing [4].", PASSAGES)
    assert [s.article_id for s in cited.sources] == ["billing"]


def test_an_answer_without_citations_is_ungrounded():
    cited = apply_citations("I think you can return it.", PASSAGES)
    assert not cited.grounded and cited.sources == []


def test_article_without_url_is_still_a_source():
    cited = apply_citations("From the PDF [1].", [passage(1, "manual", url="")])
    assert cited.sources[0].url == "" and cited.sources[0].title == "Manual"
