"""Customer phrasings never seen in training reach the right place through the real model.

Knowledge questions in any language go to the knowledge action (only it can judge whether
the articles answer them, and it replies in the customer's language); an explicit request
for a person hands off in any language. None of these phrasings is in bot/data/nlu.yml or
in knowledge/eval/customer_questions.yml.
"""

from __future__ import annotations

import asyncio

import pytest

from scripts.routing_report import HANDOFF_ACTION, KNOWLEDGE_ACTION, load_agent, route


@pytest.fixture(scope="module")
def agent(model):
    return load_agent(model)


def _route(agent, *turns: str) -> str:
    return asyncio.run(route(agent, list(turns))).action


@pytest.mark.parametrize(
    "question",
    [
        "¿Cuánto tarda en llegar un pedido a Francia?",
        "¿Cuánto me cobran por el envío a Irlanda?",
        # a question about the support team is still a question, not a request for a person
        "Wann antwortet der Support auf E-Mails?",
        "Wie lange dauert es, bis ich mein Geld zurückbekomme?",
        "Est-ce que je peux changer l'adresse de livraison de ma commande ?",
        "Como faço para trocar a senha?",
        "how long till the refund shows up on my card",
    ],
)
def test_a_knowledge_question_in_any_language_reaches_the_knowledge_base(agent, question):
    assert _route(agent, question) == KNOWLEDGE_ACTION


def test_a_follow_up_reaches_the_knowledge_base(agent):
    assert _route(agent, "how much is express shipping", "and to the UK?") == KNOWLEDGE_ACTION


@pytest.mark.parametrize(
    "request_for_a_person",
    [
        "quiero hablar con una persona",
        "ich möchte mit einem Menschen sprechen",
        "je voudrais parler à quelqu'un de chez vous",
        "posso falar com um humano?",
        "can you put me in touch with a human being",
    ],
)
def test_a_request_for_a_person_hands_off_in_any_language(agent, request_for_a_person):
    assert _route(agent, request_for_a_person) == HANDOFF_ACTION
