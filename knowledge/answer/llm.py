"""Ask an OpenAI (or OpenAI-compatible) chat model for a grounded answer.

Retries (backoff with jitter, `retry.py`) happen here rather than in the SDK so that the
whole call, retries and waits included, ends within `total_timeout`: the SDK bounds each
attempt but would honour a `Retry-After` of up to two minutes. Every failure becomes
`ModelUnavailable`, so the caller has one thing to catch before answering extractively.
"""

from __future__ import annotations

import logging
import time

from knowledge.answer.retry import delay_before_retry
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
            max_retries=0,
        )

    def complete(self, messages: list[dict[str, str]], conversation_id: str = "") -> str:
        started = time.monotonic()
        deadline = started + self.settings.total_timeout
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            try:
                response = self._client.chat.completions.create(
                    model=self.settings.model,
                    messages=messages,
                    temperature=self.settings.temperature,
                    max_tokens=self.settings.max_tokens,
                    timeout=max(0.1, min(self.settings.timeout, remaining)),
                )
                break
            except self._openai.OpenAIError as exc:
                delay = delay_before_retry(exc, attempt)
                left = deadline - time.monotonic()
                if delay is None or attempt >= self.settings.max_retries or delay >= left - 0.1:
                    log.warning(
                        "model call failed for conversation %s after %d attempt(s) in %.1f s: %s",
                        conversation_id or "-",
                        attempt + 1,
                        time.monotonic() - started,
                        _describe(exc),
                    )
                    raise ModelUnavailable(type(exc).__name__) from exc
                log.warning(
                    "model call attempt %d for conversation %s failed (%s); retrying in %.2f s",
                    attempt + 1,
                    conversation_id or "-",
                    _describe(exc),
                    delay,
                )
                time.sleep(delay)
                attempt += 1
        choice = response.choices[0] if response.choices else None
        content = (choice.message.content if choice and choice.message else None) or ""
        if not content.strip():
            raise ModelUnavailable("empty completion")
        return content.strip()


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__} (HTTP {status})" if status else type(exc).__name__
