"""The ``openai`` backend: the official client, structured JSON-schema output, bounded
concurrency, retries with backoff (honouring Retry-After) on 429 / 5xx / timeouts /
connection errors and on malformed, schema-violating or refused answers, token and cost
accounting. Works with any OpenAI-compatible server through ``base_url``. The API key is
read from the environment variable named in the config, and is never logged or stored."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import openai

from psymtl.annotate.schema import InvalidAnswer, validate
from psymtl.logs import progress

log = logging.getLogger(__name__)
RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError,
             openai.APIConnectionError)


class FatalAPIError(RuntimeError):
    """An error no retry can fix (bad key, unknown model, bad request)."""


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **kw: int) -> None:
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1

    def report(self, price_in: float, price_out: float) -> dict[str, Any]:
        cost = self.prompt_tokens / 1e6 * price_in + self.completion_tokens / 1e6 * price_out
        return {"calls": self.calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "retries": self.retries,
                "errors": dict(self.errors), "cost_usd": round(cost, 6),
                "price_per_1m_tokens_usd": {"input": price_in, "output": price_out}}


class OpenAIAnnotator:
    def __init__(self, *, model: str, prompt: str, schema: dict[str, Any],
                 base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 8, max_attempts: int = 5, timeout_s: float = 60.0,
                 temperature: float = 0.0, backoff_s: float = 1.0, max_backoff_s: float = 60.0,
                 price_input: float = 0.15, price_output: float = 0.60, **_: Any):
        key = os.environ.get(api_key_env)
        if not key:
            raise FatalAPIError(f"the openai backend needs an API key in the environment "
                                f"variable {api_key_env} (it is never read from config)")
        self.client = openai.OpenAI(api_key=key, base_url=base_url, max_retries=0,
                                    timeout=timeout_s)
        self.model, self.prompt, self.schema = model, prompt, schema
        self.concurrency, self.max_attempts = concurrency, max_attempts
        self.temperature, self.backoff_s, self.max_backoff_s = temperature, backoff_s, max_backoff_s
        self.prices = (price_input, price_output)
        self.usage = Usage()

    def _request(self, text: str) -> dict[str, Any]:
        resp = self.client.chat.completions.create(
            model=self.model, temperature=self.temperature,
            messages=[{"role": "system", "content": self.prompt},
                      {"role": "user", "content": text}],
            response_format={"type": "json_schema", "json_schema": {
                "name": "burden_annotation", "schema": self.schema, "strict": True}})
        self.usage.add(calls=1)
        if resp.usage is not None:
            self.usage.add(prompt_tokens=resp.usage.prompt_tokens or 0,
                           completion_tokens=resp.usage.completion_tokens or 0)
        msg = resp.choices[0].message
        if getattr(msg, "refusal", None):
            raise InvalidAnswer(f"refusal: {msg.refusal}")
        return validate(msg.content or "", self.schema)

    def _delay(self, attempt: int, exc: Exception | None) -> float:
        retry_after = None
        response = getattr(exc, "response", None)
        if response is not None:
            retry_after = response.headers.get("retry-after")
        if retry_after:
            try:
                return min(float(retry_after), self.max_backoff_s)
            except ValueError:
                pass
        return min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s) * (
            0.5 + random.random() / 2)

    def annotate_one(self, text: str) -> tuple[dict[str, Any] | None, str | None]:
        """(answer, None) or (None, reason) after ``max_attempts`` tries."""
        reason = "no attempt"
        for attempt in range(1, self.max_attempts + 1):
            try:
                return self._request(text), None
            except RETRYABLE as exc:
                kind = type(exc).__name__
                reason, delay = f"{kind}: {exc}", self._delay(attempt, exc)
            except InvalidAnswer as exc:
                kind, reason, delay = "InvalidAnswer", f"invalid answer: {exc}", 0.0
            except openai.APIStatusError as exc:
                if exc.status_code in (401, 403, 404):
                    raise FatalAPIError(f"{exc.status_code} from the API: {exc.message}"
                                        ) from None
                kind = f"HTTP{exc.status_code}"
                reason, delay = f"{kind}: {exc.message}", self._delay(attempt, exc)
            self.usage.error(kind)
            if attempt < self.max_attempts:
                self.usage.add(retries=1)
                time.sleep(delay)
        return None, reason

    def annotate(self, items: Iterable[tuple[str, str]],
                 on_result: Callable[[str, dict[str, Any] | None, str | None], None]) -> None:
        """Annotate (key, text) pairs, ``concurrency`` requests in flight; ``on_result`` runs
        in this thread for each post as soon as its answer (or failure) is known."""
        items = list(items)
        with ThreadPoolExecutor(self.concurrency) as pool:
            futures = {pool.submit(self.annotate_one, text): key for key, text in items}
            try:
                for fut in progress(as_completed(futures), "annotate", total=len(futures),
                                    unit="post"):
                    answer, error = fut.result()
                    on_result(futures[fut], answer, error)
            except BaseException:
                for fut in futures:  # stop paying for requests nobody will read
                    fut.cancel()
                raise

    def report(self) -> dict[str, Any]:
        return self.usage.report(*self.prices)
