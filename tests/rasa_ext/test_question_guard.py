"""The question guard: a question the classifier took for a farewell, thanks, a verdict or
small talk (a greeting or a call for help included) goes to the knowledge action (as
`nlu_fallback`; small talk naming the reply it keeps unless the articles answer);
courtesies, verdicts, bare greetings and bare small talk stay as they are."""

from __future__ import annotations

import pytest
import yaml
from rasa.shared.nlu.training_data.message import Message

from rasa_ext.question_guard import DEFAULT_INTENTS, GUARD_KEY, QuestionGuard
from scripts.stack import ROOT

BOT = ROOT / "bot"


def classified(text: str, intent: str, confidence: float = 0.8, runner_up: str = "ask_knowledge") -> Message:
    """A message as DIET and the fallback classifier leave it."""
    rest = round(1 - confidence, 3)
    return Message(
        data={
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [
                {"name": intent, "confidence": confidence},
                {"name": runner_up, "confidence": rest},
            ],
        }
    )


def guarded(text: str, intent: str = "goodbye") -> Message:
    (message,) = QuestionGuard(QuestionGuard.get_default_config()).process([classified(text, intent)])
    return message


def intent_of(text: str, intent: str = "goodbye") -> str:
    return guarded(text, intent).get("intent")["name"]


def test_a_question_read_as_a_farewell_goes_to_the_knowledge_action_and_keeps_its_ranking():
    message = guarded("can i undo that later?")
    assert message.get("intent") == {"name": "nlu_fallback", "confidence": 0.8}
    assert [r["name"] for r in message.get("intent_ranking")] == ["nlu_fallback", "goodbye", "ask_knowledge"]
    assert message.as_dict(only_output_properties=True)[GUARD_KEY] == {"relabelled": "goodbye"}


@pytest.mark.parametrize("intent", DEFAULT_INTENTS)
@pytest.mark.parametrize(
    "question",
    [
        "can i undo that later?",
        "how do I get my money back",  # no question mark: an interrogative opens it
        "is there a way to pause it",  # an auxiliary and its subject
        "thanks! how do i change the schedule",  # the question is the second sentence
    ],
)
def test_a_question_is_never_a_farewell_thanks_or_verdict(question, intent):
    assert intent_of(question, intent) == "nlu_fallback"


@pytest.mark.parametrize(
    "question",
    [
        "¿puedo deshacerlo más tarde?",
        "kann ich das später rückgängig machen",
        "gibt es eine Garantie",
        "puis-je annuler plus tard",
        "est-ce que je peux annuler",
        "o que acontece com os meus dados",
        "posso desfazer depois",
        "quand arrive ma commande ?",  # French spacing before the mark
    ],
)
def test_questions_in_the_bots_other_languages_go_to_the_knowledge_action(question):
    assert intent_of(question) == "nlu_fallback"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("bye", "goodbye"),
        ("thanks, bye", "goodbye"),
        ("see you later", "goodbye"),
        ("bye?", "goodbye"),
        ("thanks?", "thanks"),
        ("muchas gracias?", "thanks"),
        ("merci ?", "thanks"),
        ("is that all?", "goodbye"),
        ("have a nice day", "goodbye"),
        ("no", "feedback_unhelpful"),
        ("that didn't help", "feedback_unhelpful"),
        ("that didn't help?", "feedback_unhelpful"),
        ("why didn't that help?", "feedback_unhelpful"),
        ("how?", "feedback_unhelpful"),
        ("does not help", "feedback_unhelpful"),  # no subject after "does": a statement
        ("ist nicht hilfreich", "feedback_unhelpful"),
        ("did it work?", "feedback_helpful"),
        ("was helpful", "feedback_helpful"),
        ("👍?", "feedback_helpful"),
    ],
)
def test_courtesies_and_verdicts_keep_their_intent(text, intent):
    message = guarded(text, intent)
    assert message.get("intent")["name"] == intent
    assert GUARD_KEY not in message.as_dict(only_output_properties=True)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("can I talk to a person?", "request_human"),
        ("could you let me know pricing please", "request_human"),  # a person asked for: hands off
        ("how are you?", "chitchat"),  # courtesy words only: small talk, not searched
        ("are you ok?", "chitchat"),
        ("you are a bot", "bot_challenge"),  # not a question
        ("tell me a joke", "chitchat"),
    ],
)
def test_intents_it_does_not_guard_and_bare_small_talk_are_left_alone(text, intent):
    message = guarded(text, intent)
    assert message.get("intent")["name"] == intent
    assert GUARD_KEY not in message.as_dict(only_output_properties=True)


@pytest.mark.parametrize(
    ("text", "intent", "reply"),
    [
        ("are you soc two compliant", "bot_challenge", "utter_iamabot"),
        ("are you a bot?", "bot_challenge", "utter_iamabot"),
        ("do you ship abroad?", "chitchat", "utter_chitchat"),
        ("who made you?", "chitchat", "utter_chitchat"),
        # A question wrapped in a greeting or a call for help is small talk of the same kind.
        ("Hi Anna, pricing?", "greet", "utter_greet"),
        ("hi hi 😊 is anyone there on sundays?", "greet", "utter_greet"),
        ("Hello Priya, hope you're well. do you have a refer a friend program?", "greet", "utter_greet"),
        ("hey team, how long do refunds take", "greet", "utter_greet"),  # no mark: "how" opens it
        ("hola equipo, ¿cuánto tarda el reembolso?", "greet", "utter_greet"),
        ("hallo zusammen, wie lange dauert die Erstattung?", "greet", "utter_greet"),
        ("bonjour, combien de temps pour un remboursement ?", "greet", "utter_greet"),
        ("olá pessoal, quanto tempo demora o reembolso?", "greet", "utter_greet"),
        ("can anyone help me understand pricing?", "help", "utter_help"),
        ("what topics do you cover on thermostats?", "help", "utter_help"),
    ],
)
def test_question_shaped_small_talk_goes_to_the_knowledge_action_naming_its_reply(text, intent, reply):
    message = guarded(text, intent)
    assert message.get("intent")["name"] == "nlu_fallback"
    assert [r["name"] for r in message.get("intent_ranking")][:2] == ["nlu_fallback", intent]
    assert message.as_dict(only_output_properties=True)[GUARD_KEY] == {
        "relabelled": intent,
        "unless_answered": reply,
    }


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hi there?", "greet"),
        ("hello?", "greet"),
        ("hey, how are you?", "greet"),
        ("hi, how are you?", "greet"),
        ("hey guys, anyone around?", "greet"),
        ("good afternoon, is anybody there?", "greet"),
        ("hiya, how's it going?", "greet"),
        ("hey, what's up?", "greet"),
        ("hi team! hope you're well, how are things today?", "greet"),
        ("hola, ¿qué tal?", "greet"),
        ("buenas tardes, ¿hay alguien ahí?", "greet"),
        ("hallo zusammen, ist jemand da?", "greet"),
        ("guten Tag, wie geht es Ihnen?", "greet"),
        ("bonjour, il y a quelqu'un ?", "greet"),
        ("salut, ça va ?", "greet"),
        ("olá, tudo bem?", "greet"),
        ("oi pessoal, alguém aí?", "greet"),
        ("can you help me?", "help"),
        ("can someone help me please?", "help"),
        ("hi, i have a quick question?", "help"),
        ("what can you help me with?", "help"),
        ("what kind of questions can you answer?", "help"),
        ("¿me puedes ayudar?", "help"),
        ("kannst du mir bitte helfen?", "help"),
        ("pouvez-vous m'aider, s'il vous plaît ?", "help"),
        ("pode me ajudar por favor?", "help"),
    ],
)
def test_a_greeting_or_a_call_for_help_that_asks_nothing_else_keeps_its_intent(text, intent):
    message = guarded(text, intent)
    assert message.get("intent")["name"] == intent
    assert GUARD_KEY not in message.as_dict(only_output_properties=True)


def test_no_greeting_the_bot_was_taught_is_taken_for_a_question():
    examples = _examples({"greet"})
    assert len(examples) > 20
    assert [text for text, intent in examples if intent_of(text, intent) != intent] == []


def test_small_talk_can_be_left_unguarded_in_the_pipeline_config():
    config = {**QuestionGuard.get_default_config(), "small_talk": {}}
    (message,) = QuestionGuard(config).process([classified("do you ship abroad?", "chitchat")])
    assert message.get("intent")["name"] == "chitchat"


def test_one_small_talk_intent_is_left_unguarded_by_mapping_it_to_no_reply():
    """Rasa merges the pipeline's `small_talk` into the default dict, so an intent left out
    of bot/config.yml keeps its default; mapped to null it is not guarded."""
    from rasa.utils.common import override_defaults

    config = override_defaults(QuestionGuard.get_default_config(), {"small_talk": {"greet": None}})
    guard = QuestionGuard(config)
    (greeting,) = guard.process([classified("Hi Anna, pricing?", "greet")])
    (chitchat,) = guard.process([classified("do you ship abroad?", "chitchat")])
    assert greeting.get("intent")["name"] == "greet"
    assert chitchat.get("intent")["name"] == "nlu_fallback"


def test_the_pipeline_config_guards_the_default_small_talk():
    (guard,) = [
        c
        for c in yaml.safe_load((BOT / "config.yml").read_text())["pipeline"]
        if c["name"] == "rasa_ext.question_guard.QuestionGuard"
    ]
    assert guard["small_talk"] == QuestionGuard.get_default_config()["small_talk"]


def test_every_small_talk_reply_the_guard_names_exists_in_the_domain():
    domain = yaml.safe_load((BOT / "domain.yml").read_text(encoding="utf-8"))
    small_talk = QuestionGuard.get_default_config()["small_talk"]
    assert set(small_talk) <= set(domain["intents"])
    assert set(small_talk.values()) <= set(domain["responses"])


def test_a_fallback_the_classifier_already_chose_is_left_as_it_is():
    message = classified("can i undo that later?", "nlu_fallback", confidence=0.5)
    (out,) = QuestionGuard(QuestionGuard.get_default_config()).process([message])
    assert [r["name"] for r in out.get("intent_ranking")] == ["nlu_fallback", "ask_knowledge"]


def _examples(intents) -> list[tuple[str, str]]:
    nlu = yaml.safe_load((BOT / "data" / "nlu.yml").read_text(encoding="utf-8"))["nlu"]
    return [
        (line[2:], item["intent"])
        for item in nlu
        if item.get("intent") in intents
        for line in item["examples"].splitlines()
        if line.startswith("- ")
    ]


def test_no_farewell_thanks_or_verdict_the_bot_was_taught_is_taken_for_a_question():
    examples = _examples(DEFAULT_INTENTS)
    assert len(examples) > 40
    assert [(text, intent) for text, intent in examples if intent_of(text, intent) != intent] == []


def test_the_pipeline_runs_the_guard_after_the_fallback_classifier():
    names = [c["name"] for c in yaml.safe_load((BOT / "config.yml").read_text())["pipeline"]]
    assert names.index("rasa_ext.question_guard.QuestionGuard") > names.index("FallbackClassifier")


def test_while_a_person_has_the_conversation_a_guarded_question_is_met_with_silence():
    rules = yaml.safe_load((BOT / "data" / "rules.yml").read_text())["rules"]
    (silence,) = [r for r in rules if r["rule"] == "Stay silent while a person handles the conversation"]
    listed = {step["intent"] for step in silence["steps"][0]["or"]}
    assert "nlu_fallback" in listed and set(DEFAULT_INTENTS) <= listed
    assert set(QuestionGuard.get_default_config()["small_talk"]) <= listed
    assert silence["steps"][1] == {"action": "action_handoff_silence"}


def fallback(text: str, first: tuple[str, float], second: tuple[str, float]) -> Message:
    """A message the fallback classifier relabelled: its two best intents were too close."""
    (a, pa), (b, pb) = first, second
    return Message(
        data={
            "text": text,
            "intent": {"name": "nlu_fallback", "confidence": 0.5},
            "intent_ranking": [
                {"name": "nlu_fallback", "confidence": 0.5},
                {"name": a, "confidence": pa},
                {"name": b, "confidence": pb},
            ],
        }
    )


@pytest.mark.parametrize(
    "text, first, second",
    [
        ("thanks, bye", ("thanks", 0.536), ("goodbye", 0.461)),
        ("ok bye, thanks", ("goodbye", 0.52), ("thanks", 0.47)),
        ("hi, thanks", ("greet", 0.5), ("thanks", 0.45)),
    ],
)
def test_a_courtesy_torn_between_two_courtesy_intents_keeps_the_better_one(text, first, second):
    # A retrained model put "thanks, bye" at thanks 0.536 / goodbye 0.461: inside the
    # ambiguity margin, so it searched the articles and said "these articles may help".
    (out,) = QuestionGuard(QuestionGuard.get_default_config()).process([fallback(text, first, second)])
    assert out.get("intent")["name"] == first[0]
    assert [r["name"] for r in out.get("intent_ranking")] == [first[0], second[0]]
    assert out.get(GUARD_KEY) == {"relabelled": "nlu_fallback"}


@pytest.mark.parametrize(
    "text, first, second",
    [
        ("thanks, but how long does shipping take?", ("thanks", 0.52), ("goodbye", 0.45)),
        ("thanks bye", ("thanks", 0.5), ("ask_knowledge", 0.45)),
        ("my thermostat says W3", ("chitchat", 0.4), ("thanks", 0.3)),
    ],
)
def test_a_fallback_that_asks_or_is_not_torn_between_courtesies_stays_a_fallback(text, first, second):
    (out,) = QuestionGuard(QuestionGuard.get_default_config()).process([fallback(text, first, second)])
    assert out.get("intent")["name"] == "nlu_fallback"
