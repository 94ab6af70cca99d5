"""Which language a customer writes in.

py3langid (a maintained fork of langid.py) is used because its model ships inside the
wheel: nothing is downloaded at run time, it loads in about half a second and classifies
a short message in well under a millisecond. It is limited to the languages the bot has
its own texts for, which makes short questions far more reliable than choosing among 97
languages. A message too short to tell ("ok", "hola", "PayPal?") gives no verdict, and
the caller keeps the conversation's language.
"""

from __future__ import annotations

import re
from functools import lru_cache

ENGLISH = "en"
# The languages the bot's own texts exist in (bot/domain.yml); the articles are English.
SUPPORTED = ("en", "es", "de", "fr", "pt")
NAMES = {"en": "English", "es": "Spanish", "de": "German", "fr": "French", "pt": "Portuguese"}
# Below this probability (normalised over SUPPORTED) the verdict is "can't tell". Every
# one of the 135 English questions of knowledge/eval/questions.yml is classified English
# (argmax), and short non-English questions often score 0.55-0.85, so the bar is low.
MIN_PROBABILITY = 0.5
MIN_LETTERS = 8
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
# Product and brand words say nothing about the customer's language.
_NEUTRAL = re.compile(
    r"\b(?:nimbus|wi-?fi|app|paypal|apple pay|google pay|pro|plus|ok|okay)\b", re.IGNORECASE
)


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(SUPPORTED))
    return identifier


def detect(text: str) -> str | None:
    """The message's language among SUPPORTED, or None when it is too short to tell."""
    sample = _NEUTRAL.sub(" ", text or "")
    if len(_LETTERS.findall(sample)) < MIN_LETTERS or len(sample.split()) < 2:
        return None
    language, probability = _identifier().classify(sample)  # no state kept between calls
    return language if probability >= MIN_PROBABILITY else None


def warm_up() -> None:
    """Load the model before the first customer needs it."""
    _identifier()


__all__ = ["ENGLISH", "NAMES", "SUPPORTED", "detect", "warm_up"]
