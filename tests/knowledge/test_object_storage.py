"""Replicas sharing one knowledge base on S3-compatible object storage.

moto's S3 server on loopback stands in for the bucket; LanceDB reaches it with the same
environment variables an operator sets for MinIO or any S3-compatible store (README,
"Scaling out"). Every replica's action server reads `KB_URI=s3://...`; `kb ingest` run
anywhere writes a new version that all of them pick up without a restart.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from knowledge import cli
from knowledge.config import SAMPLE_ARTICLES, Settings
from knowledge.service import KnowledgeBase

BUCKET = "nimbus-kb"
# A slice of the sample help centre, with near neighbours of the questions asked below,
# keeps embedding (the slow part on a CPU) short; the mechanism under test is the storage.
ARTICLES = (
    "reset-your-password",
    "unlock-your-account",
    "secure-your-account",
    "payment-methods",
    "failed-payment",
    "refund-timing",
)
KB_URI = f"s3://{BUCKET}/kb"

GIFT_CARDS = """---
title: Gift cards
url: https://help.nimbushome.example/articles/gift-cards
---

Nimbus gift cards come in amounts from $25 to $500 and never expire. Redeem a gift card
at checkout by entering its 16-digit code under *Payment*. A gift card cannot be
exchanged for cash, and its balance is shown in your account under *Wallet*.
"""


@pytest.fixture(scope="module")
def s3_env():
    """A loopback S3 server and the variables LanceDB (and boto3) read to reach it."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {
        "AWS_ENDPOINT": endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_REGION": "us-east-1",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        mp.setenv("KB_URI", KB_URI)
        # No model API in these tests: answers are the extractive, cited ones.
        mp.setenv("OPENAI_API_KEY", "")
        mp.setenv("OPENAI_BASE_URL", "")
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield s3
    server.stop()


@pytest.fixture(scope="module")
def articles(tmp_path_factory, s3_env) -> Path:
    """Sample articles, ingested into the bucket by `kb ingest` (KB_URI from the env)."""
    folder = tmp_path_factory.mktemp("s3-articles")
    for name in ARTICLES:
        shutil.copy(SAMPLE_ARTICLES / f"{name}.md", folder)
    assert cli.main(["ingest", str(folder), "--quiet"]) == 0
    return folder


def replica(embedder) -> KnowledgeBase:
    """One action server's knowledge base, configured from the environment alone."""
    return KnowledgeBase(Settings.from_env(), embedder=embedder)


def test_kb_ingest_writes_the_index_into_the_bucket(articles, s3_env):
    keys = [o["Key"] for o in s3_env.list_objects_v2(Bucket=BUCKET, Prefix="kb/")["Contents"]]
    assert any(k.startswith("kb/chunks.lance/") for k in keys), keys[:5]
    # the chunks' token states for the reading signal travel with the index
    assert any(k.startswith("kb/chunks__states.lance/") for k in keys), keys[:5]
    # Nothing was written to a local directory that merely looks like the URI.
    assert not (Path.cwd() / "s3:").exists()


def test_a_replica_answers_from_the_bucket_and_cites_the_right_article(articles, embedder):
    answer = replica(embedder).ask("how long is the password reset link good for")
    assert answer.grounded and "[1]" in answer.text
    assert answer.sources[0].article_id == "reset-your-password"


def test_an_article_ingested_later_reaches_a_replica_that_is_already_running(articles, embedder):
    first, second = replica(embedder), replica(embedder)
    question = "can I pay with a gift card code at checkout"
    # The second replica has opened the index and answered before the article exists.
    assert "gift-cards" not in second.search(question).article_ids()

    (articles / "gift-cards.md").write_text(GIFT_CARDS, encoding="utf-8")
    assert cli.main(["ingest", str(articles), "--quiet"]) == 0

    for kb in (second, first):
        computed = kb.retriever.token_states.computed
        answer = kb.ask(question)
        assert answer.grounded, answer
        assert answer.sources[0].article_id == "gift-cards"
        assert "16-digit code" in answer.text
        # the new article's token states come from the bucket, not from the model
        assert kb.retriever.token_states.computed == computed
