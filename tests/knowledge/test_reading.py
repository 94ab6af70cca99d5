"""The reading signal's arithmetic (knowledge/reading.py), without the model."""

import numpy as np

from knowledge.reading import TokenStates, content_pieces, weakest_match
from knowledge.retrieval import STOP_WORDS


def test_only_the_word_pieces_of_content_words_are_read():
    pieces = ["cancel", "my", "sp", "##oti", "##fy", "subscription", "?"]
    assert content_pieces(pieces, STOP_WORDS).tolist() == [True, False, True, True, True, True, False]


def test_chat_shorthand_is_not_read_as_a_word_the_article_must_have():
    """The word "pls" is "pl" + "##s": by its first piece it would look like a word no article has."""
    pieces = ["support", "phone", "number", "pl", "##s", "what", "##s", "ur", "ni", "##mb", "##us", "rn"]
    expected = [True, True, True, False, False, False, False, False, False, False, False, False]
    assert content_pieces(pieces, STOP_WORDS).tolist() == expected


def test_one_question_word_with_nothing_like_it_in_the_passage_sets_the_signal():
    chunks = [np.eye(4, dtype=np.float16)[:2], np.eye(4, dtype=np.float16)[2:3]]  # three directions
    matched = np.eye(4, dtype=np.float32)[[0, 2]]  # one found in each chunk
    assert weakest_match(matched, chunks) == 1.0
    unmatched = np.vstack([matched, np.eye(4, dtype=np.float32)[3]])  # a fourth direction
    assert weakest_match(unmatched, chunks) == 0.0
    assert weakest_match(np.zeros((0, 4), np.float32), chunks) == 0.0
    assert weakest_match(matched, []) == 0.0


class CountingEmbedder:
    def __init__(self):
        self.calls = 0

    def token_states(self, text):
        self.calls += 1
        return text.split(), np.ones((len(text.split()), 2), np.float32) / np.sqrt(2)


def test_a_chunk_is_read_once_until_its_text_changes_and_the_cache_is_bounded():
    embedder = CountingEmbedder()
    cache = TokenStates(embedder, max_chunks=2)
    row = {"chunk_id": "a#0", "title": "Plans", "section": "Pro", "text": "costs five"}
    cache.of_chunk(row)
    cache.of_chunk(row)
    assert embedder.calls == 1
    cache.of_chunk({**row, "text": "costs six"})
    assert embedder.calls == 2
    cache.of_chunk({**row, "chunk_id": "b#0"})
    cache.of_chunk({**row, "chunk_id": "c#0"})
    assert len(cache._cache) == 2


def test_engines_on_one_model_share_the_chunks_they_have_read():
    embedder = CountingEmbedder()
    assert TokenStates.shared(embedder) is TokenStates.shared(embedder)
    assert TokenStates.shared(embedder) is not TokenStates.shared(CountingEmbedder())
