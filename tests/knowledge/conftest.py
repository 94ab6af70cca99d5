import pytest


@pytest.fixture(scope="session")
def embedder():
    from knowledge.embedding import default_embedder

    return default_embedder()
