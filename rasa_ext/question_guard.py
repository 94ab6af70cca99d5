"""A customer's question is never answered with a farewell or taken as a verdict.

DIET learns `goodbye`, `thanks` and the two feedback intents from short courtesies and
verdicts, so a question sharing one of their words can land there: "can i undo that
later?" (after an answer) read as `goodbye` because of "later", and the customer got "Bye".
More NLU examples moved such slips around rather than removing them (docs/knowledge-quality.md,
"More NLU examples for two routing slips"). What those intents never are is a question, and
whether a message is shaped like a question is a property of the sentence, not of one help
centre's vocabulary: a question mark, an opening "¿", an interrogative word first, or an
auxiliary followed by its subject ("can i ...", "kann ich ...", "puis-je ...").

`QuestionGuard` is a pipeline component (Rasa's graph-component extension point) placed
after `FallbackClassifier`. For a message classified as one of `intents` that is
question-shaped and carries more than a bare courtesy ("thanks?", "bye?", "is that all?"
stay what they are), it predicts `nlu_fallback`, which the rules send to the knowledge
action: the articles are the one judge of what a question is about. The classifier's own
ranking stays in `intent_ranking` below it and the re-labelled intent is named under
`question_guard` in the parse data, so logs and `rasa shell nlu` show both.

Small talk is the other way a support question slips: "are you soc 2 certified" reads as
`bot_challenge` because of "are you", "do you sell it?" as `chitchat`. Those intents are
both a question sometimes ("are you a bot?", "who made you?"), so the guard cannot decide
alone; for a question-shaped message classified as one of `small_talk` it also predicts
`nlu_fallback` and names the intent's own reply under `question_guard` ("unless_answered").
The knowledge action answers it only when the articles answer it confidently and otherwise
sends that reply, recording no unanswered question and counting no miss toward a handoff.
A bare "how are you?" says nothing beyond courtesy words and keeps its intent.

Greetings and requests for help are small talk of the same kind: customers wrap their
question in them ("Hi Anna, pricing?", "can anyone help me understand pricing?") and DIET
reads the wrap, so the customer got the greeting or the help text and had to ask again.
A question-shaped `greet` or `help` message that says more than courtesy takes the same
path and keeps `utter_greet` / `utter_help` unless the articles answer it confidently.
Greeting and address words ("hi", "hello", "there", "team", "guys", "hola", "hallo",
"bonjour", "olá", ...) and the words of asking for help ("can someone help me please?")
count as courtesy, so "hi there?", "hello?", "hey, how are you?" and "can you help me?"
keep their intent without a search.

The other way round, a courtesy that DIET cannot split between two courtesy intents ("thanks,
bye": `thanks` 0.54 against `goodbye` 0.46, inside the fallback classifier's ambiguity
margin) became `nlu_fallback`, a search of the articles, and the customer who said goodbye
got "these articles may help". When the two best intents under a fallback are both
courtesies (`courtesies`: thanks, goodbye, greet) and the message is not shaped like a
question, the better one is restored: either reply suits the customer, and a retrained
model's ranking between the two no longer decides whether the articles are searched.

Intents it does not list (requests for a person) are left alone: "can I talk to a person?"
and "could you let me know pricing please" (read as a request for a person) still hand off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.constants import TEXT as TEXT_KEY
from rasa.shared.nlu.training_data.message import Message

from contract.parse_data import GUARD as GUARD_KEY
from contract.parse_data import RELABELLED
from contract.parse_data import UNLESS_ANSWERED as UNLESS_ANSWERED_KEY

DEFAULT_INTENTS = ("goodbye", "thanks", "feedback_helpful", "feedback_unhelpful")
# Intents whose replies are all courtesy: a fallback torn between two of them is settled.
DEFAULT_COURTESIES = ("thanks", "goodbye", "greet")
# Small-talk intents and the reply each keeps when the articles do not answer confidently.
# An intent mapped to no reply (`greet: null` in bot/config.yml) is not guarded: Rasa merges
# the pipeline's `small_talk` into this dict, so leaving a key out keeps its default.
DEFAULT_SMALL_TALK = {
    "chitchat": "utter_chitchat",
    "bot_challenge": "utter_iamabot",
    "greet": "utter_greet",
    "help": "utter_help",
}

# Words that open a question on their own (English, Spanish, German, French, Portuguese;
# Spanish and Portuguese also without their accents, as customers type them). English
# "was" is left out: it is German "what" but also opens "was helpful".
INTERROGATIVES = frozenset(
    """
    how what why when where which who whom whose how's what's where's when's who's
    cómo como qué cuándo cuando dónde donde adónde cuál cuáles cual cuales cuánto cuánta
    cuántos cuántas cuanto cuanta cuantos cuantas quién quiénes quien quienes
    wie warum wieso weshalb weswegen wann wo woher wohin womit wobei worauf welche welcher
    welches welchen welchem wer wen wem wessen
    comment pourquoi quand où quel quelle quels quelles qui combien quoi lequel laquelle est-ce
    quê porquê onde qual quais quanto quanta quantos quantas quem cadê
    """.split()
)
# Two-word openers: Spanish/Portuguese "por qué" (why), Portuguese "o que" (what).
INTERROGATIVE_PAIRS = frozenset(
    {("por", "qué"), ("por", "que"), ("por", "quê"), ("o", "que"), ("o", "quê"), ("para", "qué")}
)
# Verbs that open a question when their subject follows ("can i", "is there", "kann ich",
# "gibt es"); "does not help" and "ist nicht hilfreich" have no subject and stay statements.
# Spanish and Portuguese drop the subject, so their first-person "can I" counts alone.
AUXILIARIES = frozenset(
    """
    can could do does did is are am was were will would should shall may might must have has
    can't couldn't don't doesn't didn't isn't aren't wasn't won't wouldn't shouldn't
    kann kannst können könnte könnten darf dürfen muss müssen soll sollte ist sind bin gibt
    hat habe haben hast wird werden wurde geht funktioniert brauche brauchen bekomme bekommen
    """.split()
)
SUBJECT_FREE_AUXILIARIES = frozenset({"puedo", "podemos", "posso"})
SUBJECTS = frozenset(
    """
    i you we they he she it there this that these those my your our their the a an someone
    anyone somebody anybody u
    ich du er sie es man wir ihr das der die den dem mein meine meinen dies diese dieser
    dieses jemand
    """.split()
)
# French inversion: "puis-je", "peut-on", "pouvez-vous", "est-il", "a-t-il".
FRENCH_INVERSION = re.compile(r"^\w+-(?:t-)?(?:je|tu|il|elle|on|nous|vous|ils|elles|ce)$")

# A question made only of these is a courtesy or a verdict with a question mark ("thanks?",
# "bye?", "is that all?", "why didn't that help?"), still what the classifier said.
BARE_WORDS = frozenset(
    """
    thanks thank thx ty tnx you u ya bye goodbye byebye bye-bye cya see later cheers ok okay
    k kk alright great good nice cool perfect awesome fine yes yeah yep yup no nope nah so and
    then is it it's that that's this all for now again much lot lots a the really sure right
    huh oh ah hm hmm well what anything else are there have day night morning evening
    helpful unhelpful help helped useful useless work works worked working solved fixed not
    didn't doesn't did does was wasn't why how when where who which do i me can
    gracias muchas mil adiós adios chao hasta luego pronto vale sí si bueno bien perfecto eso
    es todo
    danke vielen dank schön sehr tschüss tschüs bis dann später ja nein gut super prima klar
    das ist alles war's wars
    merci beaucoup au revoir salut bonne journée soirée oui non parfait d'accord c'est tout ça
    obrigado obrigada muito tchau até logo mais sim não nao valeu beleza ótimo isso tudo só é
    ciao grazie
    """.split()
)

# Greeting, address and well-wishing words, and the words of asking for help, in the same
# five languages: the wrap around a question, never its topic ("hi team, can someone help
# me please?", "hola, ¿hay alguien ahí?", "hallo zusammen, kann mir jemand helfen?",
# "bonjour, il y a quelqu'un ?", "oi pessoal, tudo bem?"), and of asking the bot what it
# covers ("what kind of questions can you answer?"). Words that can name what a
# customer asks about ("online", "open", "available", "support", "account") are left out:
# a message with one of them is searched.
GREETING_WORDS = frozenset(
    """
    hi hello hey heya hiya hullo hallo howdy yo sup wassup whats what's up greetings
    g'day gday aloha namaste welcome afternoon there here around anyone anybody someone
    somebody everyone everybody folks guys guy people team y'all yall friend friends mate
    sir madam ma'am dear again hope you're youre your well doing going today things how's
    hows been please pls plz need some question questions quick q assist assistance with
    something out us could would
    ask asking answer answers know about topic topics cover kind kinds sort of
    hola buenas buenos días dias tardes noches saludos qué que tal cómo como estás estas
    está esta están estan usted ustedes va hay alguien ahí ahi todos equipo amigo amigos
    señor señora me puedes puede pueden podrías podrias podría podria ayuda ayudar
    ayudarme ayúdame ayudame necesito una pregunta consulta por favor tengo
    moin servus grüß grüss gruß gruss gott grüezi hallöchen tag guten morgen abend na wie
    geht's gehts geht dir ihnen euch zusammen leute liebe lieber liebes jemand da hier
    hilfe helfen mir du kannst können könnten sie frage eine ich habe brauche bitte kurze
    bonjour bonsoir coucou allo allô va vas allez allez-vous vas-tu comment vous tu il y
    quelqu'un là tout le monde équipe madame monsieur messieurs dames cher chère chers et
    aide aider m'aider pouvez-vous peux-tu pouvez peux j'ai une besoin d'aide svp s'il
    plaît plait
    olá ola oi bom boa dia tarde noite bem vai você voce alguém alguem aí ai pessoal gente
    equipe senhor senhora e ajuda ajudar pode podem poderia tenho pergunta dúvida duvida
    preciso
    """.split()
)
COURTESY_WORDS = BARE_WORDS | GREETING_WORDS

_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_CLAUSE_BREAK = re.compile(r"[.!;,:\n]+")


def words(text: str) -> list[str]:
    """The message's words, lower-cased, apostrophes and hyphens kept inside a word."""
    return _WORD.findall(text.lower().replace("’", "'"))


def question_shaped(text: str) -> bool:
    """Whether a sentence of the message is built as a question, in any of the bot's five
    languages ("thanks! how do i cancel" asks in its second sentence)."""
    if "?" in text or "？" in text or "¿" in text:
        return True
    return any(_opens_question(words(clause)) for clause in _CLAUSE_BREAK.split(text))


def _opens_question(tokens: list[str]) -> bool:
    if not tokens:
        return False
    first, second = tokens[0], tokens[1] if len(tokens) > 1 else ""
    if first in INTERROGATIVES or (first, second) in INTERROGATIVE_PAIRS:
        return True
    if first in SUBJECT_FREE_AUXILIARIES or FRENCH_INVERSION.match(first):
        return True
    return first in AUXILIARIES and second in SUBJECTS


def more_than_courtesy(text: str) -> bool:
    """Whether the message says something beyond a courtesy, a greeting, a request for help
    or a verdict on the answer."""
    return any(word not in COURTESY_WORDS for word in words(text))


def is_question(text: str) -> bool:
    """A message the knowledge base should see rather than a farewell or a feedback reply."""
    return question_shaped(text) and more_than_courtesy(text)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class QuestionGuard(GraphComponent, IntentClassifier):
    """Sends question-shaped messages classified as a farewell, thanks, feedback or small
    talk (a greeting and a request for help included) to the knowledge action (as
    `nlu_fallback`), keeping the classifier's ranking visible; small talk carries the
    reply to fall back on."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intents": list(DEFAULT_INTENTS),
            "small_talk": dict(DEFAULT_SMALL_TALK),
            "courtesies": list(DEFAULT_COURTESIES),
        }

    def __init__(self, config: dict[str, Any]) -> None:
        self.component_config = config
        self.guarded_intents = frozenset(config.get("intents") or DEFAULT_INTENTS)
        small_talk = DEFAULT_SMALL_TALK if config.get("small_talk") is None else config["small_talk"]
        self.small_talk: dict[str, str] = {intent: reply for intent, reply in small_talk.items() if reply}
        courtesies = config.get("courtesies")
        self.courtesies = frozenset(DEFAULT_COURTESIES if courtesies is None else courtesies)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> QuestionGuard:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._guard(message)
        return messages

    def _guard(self, message: Message) -> None:
        intent = message.get(INTENT) or {}
        name = intent.get(INTENT_NAME_KEY)
        if name == DEFAULT_NLU_FALLBACK_INTENT_NAME:
            self._settle_courtesy(message)
            return
        guarded = name in self.guarded_intents or name in self.small_talk
        if not guarded or not is_question(message.get(TEXT_KEY) or ""):
            return
        note: dict[str, Any] = {RELABELLED: name}
        if name in self.small_talk:
            note[UNLESS_ANSWERED_KEY] = self.small_talk[name]
        fallback = {
            INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
            PREDICTED_CONFIDENCE_KEY: intent.get(PREDICTED_CONFIDENCE_KEY),
        }
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if not _is_fallback(r)]
        message.set(INTENT, fallback, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [fallback, *ranking], add_to_output=True)
        message.set(GUARD_KEY, note, add_to_output=True)

    def _settle_courtesy(self, message: Message) -> None:
        """A fallback between two courtesy intents, for a message that asks nothing, is the better one."""
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if not _is_fallback(r)]
        if len(ranking) < 2 or not {r.get(INTENT_NAME_KEY) for r in ranking[:2]} <= self.courtesies:
            return
        if is_question(message.get(TEXT_KEY) or ""):
            return
        best = {INTENT_NAME_KEY: ranking[0][INTENT_NAME_KEY]}
        best[PREDICTED_CONFIDENCE_KEY] = ranking[0].get(PREDICTED_CONFIDENCE_KEY)
        message.set(INTENT, best, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        message.set(GUARD_KEY, {RELABELLED: DEFAULT_NLU_FALLBACK_INTENT_NAME}, add_to_output=True)


def _is_fallback(entry: dict[str, Any]) -> bool:
    return entry.get(INTENT_NAME_KEY) == DEFAULT_NLU_FALLBACK_INTENT_NAME


def relabelled(texts: Iterable[str]) -> list[str]:
    """The texts the guard would take for questions (for checking a list of courtesies)."""
    return [text for text in texts if is_question(text)]
