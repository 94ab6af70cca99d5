"""Ask an OpenAI (or OpenAI-compatible) chat model for a grounded answer.

The official SDK does the retrying (with backoff on 429/5xx/timeouts); this module only
bounds it and turns every failure into `ModelUnavailable`, so the caller has one thing to
catch before falling back to the extractive answer.
"""

from __future__ import annotations

import logging

from knowledge.config import LLMSettings

log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """The model could not give an answer in time; callers fall back, never crash."""


class ChatModel:
    def __init__(self, settings: LLMSettings) -> None:
        import openai

        self.settings = settings
        self._openai = openai
        self._client = openai.OpenAI(
            # A local server (Ollama, vLLM) needs no key, but the SDK insists on one.
            api_key=settings.api_key or "not-needed",
            base_url=settings.base_url or None,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )

    def complete(self, messages: list[dict[str, str]], conversation_id: str = "") -> str:
        try:
            response = self._client.chat.completions.create(
                model=self.settings.model,
                messages=messages,
                temperature=self.settings.temperature,
                max_tokens=self.settings.max_tokens,
            )
        except self._openai.OpenAIError as exc:
            log.warning(
                "model call failed for conversation %s: %s", conversation_id or "-", type(exc).__name__
            )
            raise ModelUnavailable(type(exc).__name__) from exc
        choice = response.choices[0] if response.choices else None
        content = (choice.message.content if choice and choice.message else None) or ""
        if not content.strip():
            raise ModelUnavailable("empty completion")
        return content.strip()
