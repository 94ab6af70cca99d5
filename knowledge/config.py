"""Settings for the knowledge engine, read from the environment.

The engine runs inside the action server and inside the `kb` CLI, neither of which has
Rasa's YAML configuration, so environment variables (documented in `.env.example`) are
the one place both read. Every setting has a default that works on a fresh machine
with no credentials at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLES = Path(__file__).resolve().parent / "articles"
DEFAULT_KB_URI = str(PROJECT_ROOT / ".data" / "kb")


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_float(name: str, default):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _env_int(name: str, default: int) -> int:
    return int(_env_float(name, float(default)))


# Where the thesaurus's words go by default (see `RetrievalSettings.thesaurus`).
THESAURUS_DEFAULT = "off"


def _thesaurus_mode(value: str) -> str:
    """KB_THESAURUS: a mode name, or a yes/no ("1" is the default mode, "0" is off)."""
    value = value.strip().lower()
    if value in {"0", "false", "no", "off", ""}:
        return "off"
    if value in {"1", "true", "yes", "on"}:
        return THESAURUS_DEFAULT if THESAURUS_DEFAULT != "off" else "fts"
    return value


@dataclass(frozen=True)
class RetrievalSettings:
    """How passages are found and when the bot would rather say it doesn't know."""

    uri: str = DEFAULT_KB_URI
    table: str = "chunks"
    top_k: int = 5
    # Passages handed to the model or the extractive answerer.
    context_passages: int = 4
    # Turns of conversation searched together with a follow-up question.
    max_messages_in_query: int = 2
    # The answer/abstain decision is fitted by `kb eval --calibrate` and read from this
    # file (default: knowledge/calibration.json, committed). KB_MIN_RELEVANCE replaces it
    # with a plain cosine bar, for operators who want a single number to turn.
    calibration: str = ""
    min_relevance: float | None = None
    # Mend misspelt question words with the index's own words before searching
    # (`knowledge.spelling`); KB_SPELLING=0 searches the question exactly as typed.
    spelling: bool = True
    # Add the help-centre words of customer wording ("send it back" -> return) to the
    # search (`knowledge.thesaurus`): "off", "fts" (the full-text query), "vector" (the
    # embedded text) or "both". KB_THESAURUS=0 turns it off; KB_THESAURUS_FILE adds a
    # team's own entries to the packaged knowledge/glossary/en.yml.
    thesaurus: str = THESAURUS_DEFAULT
    thesaurus_file: str = ""

    @classmethod
    def from_env(cls) -> RetrievalSettings:
        return cls(
            uri=_env("KB_URI", DEFAULT_KB_URI),
            table=_env("KB_TABLE", "chunks"),
            top_k=_env_int("KB_TOP_K", 5),
            context_passages=_env_int("KB_CONTEXT_PASSAGES", 4),
            max_messages_in_query=_env_int("KB_MAX_MESSAGES_IN_QUERY", 2),
            calibration=_env("KB_CALIBRATION", ""),
            min_relevance=_env_float("KB_MIN_RELEVANCE", None),
            spelling=_env("KB_SPELLING", "1").strip().lower() not in {"0", "false", "no", "off"},
            thesaurus=_thesaurus_mode(_env("KB_THESAURUS", THESAURUS_DEFAULT)),
            thesaurus_file=_env("KB_THESAURUS_FILE", ""),
        )


@dataclass(frozen=True)
class LLMSettings:
    """OpenAI (or any OpenAI-compatible server) used to phrase grounded answers."""

    api_key: str = ""
    base_url: str = ""
    model: str = "gpt-4o-mini"
    timeout: float = 20.0
    max_retries: int = 2
    # Whole call, retries and waits included; below the Rasa side's ACTION_TIMEOUT (35 s).
    total_timeout: float = 25.0
    temperature: float = 0.1
    max_tokens: int = 400
    prompt_template: str = ""
    # The business the bot speaks for, named in the model's instructions. Empty: the name
    # the help centre's own articles use most (`knowledge.answer.prompt.company_in`), so a
    # team pointing the bot at its articles is never introduced as the sample's company.
    company: str = ""

    @property
    def enabled(self) -> bool:
        """A key or a base URL (a local server may need no key) switches the model on."""
        return bool(self.api_key or self.base_url)

    @classmethod
    def from_env(cls) -> LLMSettings:
        return cls(
            api_key=_env("OPENAI_API_KEY", ""),
            base_url=_env("OPENAI_BASE_URL", ""),
            model=_env("OPENAI_MODEL", cls.model),
            timeout=_env_float("OPENAI_TIMEOUT", cls.timeout),
            max_retries=_env_int("OPENAI_MAX_RETRIES", cls.max_retries),
            total_timeout=_env_float("OPENAI_TOTAL_TIMEOUT", cls.total_timeout),
            temperature=_env_float("OPENAI_TEMPERATURE", cls.temperature),
            max_tokens=_env_int("OPENAI_MAX_TOKENS", cls.max_tokens),
            prompt_template=_env("KB_PROMPT_TEMPLATE", ""),
            company=_env("KB_COMPANY_NAME", ""),
        )


@dataclass(frozen=True)
class Settings:
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(retrieval=RetrievalSettings.from_env(), llm=LLMSettings.from_env())
