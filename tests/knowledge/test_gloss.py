"""Non-English questions without a model: the support glossary's English key words."""

import pytest

from knowledge.gloss import GLOSSARY_DIR, fold, gloss, glossary
from knowledge.language import ENGLISH, SUPPORTED


def test_every_language_the_bot_speaks_has_a_glossary():
    # English's file is the customer-support thesaurus (customer words -> help-centre words,
    # `knowledge.thesaurus`), read by the search, never as a translation
    assert {p.stem for p in GLOSSARY_DIR.glob("*.yml")} == set(SUPPORTED)
    for language in set(SUPPORTED) - {ENGLISH}:
        assert len(glossary(language).words) + len(glossary(language).prefixes) >= 100


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("J'ai oublié mon mot de passe", "fr", "forgot password"),  # a phrase, accents folded
        ("Wie kann ich mein Konto löschen?", "de", "account delete"),  # umlaut folded, prefix
        ("Passwörter", "de", "password"),
        ("¿aceptan PayPal?", "es", "accept PayPal"),  # a name in mid-sentence stays as written
        ("o termostato mostra o erro W3 no wifi", "pt", "thermostat error W3 wifi"),  # codes, loan words
        ("Je n'ai pas reçu mon colis", "fr", "not received package"),  # not "receipt"
        ("Comment résilier l'abonnement ?", "fr", "cancel subscription"),  # elision: l'abonnement
        ("Ich möchte mein Abo kuendigen", "de", "subscription cancel"),  # typed without umlauts
        ("me cobraron dos veces", "es", "charged twice"),
        ("o termostato não liga", "pt", "thermostat not turn on power"),  # not "call"
        ("¿hola qué tal?", "es", ""),  # nothing to search by
    ],
)
def test_gloss_keeps_the_support_words_in_english(text, language, expected):
    assert gloss(text, language) == expected


def test_unknown_languages_get_no_gloss():
    assert gloss("how do i reset my password", "en") == ""
    assert gloss("パスワードを忘れました", "ja") == ""
    assert gloss("olvidé mi contraseña", "../es") == ""


def test_fold_matches_how_customers_type_on_phones():
    assert fold("Contraseña") == fold("contrasena") == "contrasena"
    assert fold("Straße") == "strasse"
