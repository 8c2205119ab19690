"""A local OpenAI-compatible chat-completions server for tests and benchmarks (127.0.0.1).

It answers with valid schema-v1 JSON, or misbehaves on purpose when the post contains a
marker: RATE (one 429 with Retry-After), FIVEHUNDRED (two 500s), SLOW (one answer slower
than the client's timeout), BADJSON (never JSON), BADSCHEMA (probabilities summing to 2),
REFUSE (a refusal), AUTH (401). ``latency_s`` delays every answer (for throughput benchmarks).
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD = {"treatment_burden": 2, "financial_strain": 0, "uncertainty": 1,
        "unmet_support_needs": 3, "composite_burden": 5.5, "high_need": True,
        "speaker_role": "caregiver", "cancer_type": "lung",
        "emotion_probs": {"very_negative": 0.1, "negative": 0.6, "neutral": 0.2,
                          "positive": 0.1}}


def answer(text: str) -> dict:
    """A valid schema-v1 answer that varies with the post (seeded by its hash), so that a
    workflow run on these annotations has non-constant targets."""
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    sub = [rng.randint(0, 3) for _ in range(4)]
    weights = [rng.random() + 0.05 for _ in range(4)]
    probs = [round(w / sum(weights), 3) for w in weights]
    probs[-1] = round(1 - sum(probs[:-1]), 3)
    return {"treatment_burden": sub[0], "financial_strain": sub[1], "uncertainty": sub[2],
            "unmet_support_needs": sub[3], "composite_burden": round(sum(sub) * 10 / 12, 2),
            "high_need": sum(sub) >= 7,
            "speaker_role": rng.choice(["patient", "caregiver", "other"]),
            "cancer_type": rng.choice(["brain", "colon", "liver", "leukemia", "lung",
                                       "other/unknown"]),
            "emotion_probs": dict(zip(GOOD["emotion_probs"], probs, strict=True))}


class LLMServer:
    def __init__(self, latency_s: float = 0.0, slow_s: float = 2.0):
        self.latency_s, self.slow_s = latency_s, slow_s
        self.calls: Counter[str] = Counter()
        self.auth_headers: list[str] = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                text = body["messages"][-1]["content"]
                with server.lock:
                    server.calls[text] += 1
                    n = server.calls[text]
                    server.auth_headers.append(self.headers.get("Authorization", ""))
                    server.requests.append(body)
                status, content, refusal, headers = server.behave(text, n)
                if status != 200:
                    self._send(status, {"error": {"message": f"status {status}",
                                                  "type": "server_error"}}, headers)
                    return
                time.sleep(server.latency_s)
                self._send(200, {
                    "id": f"chatcmpl-{n}", "object": "chat.completion", "created": 0,
                    "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "role": "assistant", "content": content, "refusal": refusal}}],
                    "usage": {"prompt_tokens": 120, "completion_tokens": 60,
                              "total_tokens": 180}})

            def _send(self, status: int, obj: dict, headers: dict | None = None) -> None:
                data = json.dumps(obj).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def behave(self, text: str, n: int) -> tuple[int, str | None, str | None, dict]:
        if "AUTH" in text:
            return 401, None, None, {}
        if "RATE" in text and n == 1:
            return 429, None, None, {"Retry-After": "0"}
        if "FIVEHUNDRED" in text and n <= 2:
            return 500, None, None, {}
        if "SLOW" in text and n == 1:
            time.sleep(self.slow_s)
        if "BADJSON" in text:
            return 200, "{not json", None, {}
        if "BADSCHEMA" in text:
            bad = dict(GOOD, emotion_probs={k: 0.5 for k in GOOD["emotion_probs"]})
            return 200, json.dumps(bad), None, {}
        if "REFUSE" in text:
            return 200, None, "I cannot help with that.", {}
        return 200, json.dumps(answer(text)), None, {}

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def __enter__(self) -> LLMServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
