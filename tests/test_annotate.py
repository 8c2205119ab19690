"""Annotation stage: the real OpenAI client against a local server (faults included), the
cache, the local and file backends, and that the API key never reaches any output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from llm_server import GOOD, LLMServer, answer

from psymtl.annotate import run
from psymtl.annotate.openai_backend import FatalAPIError
from psymtl.annotate.schema import InvalidAnswer, load, validate
from psymtl.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
RES = ROOT / "resources" / "annotation"
SECRET = "sk-test-DO-NOT-LEAK-4242"
PATHS = dict(prompt_path=RES / "prompt_v1.txt", schema_path=RES / "schema_v1.json",
             labels_path=RES / "local_v1.yaml")


def posts(*texts: str) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"p{i}" for i in range(len(texts))], "text": list(texts)})


def openai_backend(server: LLMServer, **kw) -> dict:
    """The test backend; its 2 s timeout leaves room for a loaded CI machine (a timed-out
    call is retried and counted twice), the SLOW fault sleeps past it."""
    return {"backend": "openai", "model": "gpt-4o-mini", "base_url": server.url,
            "api_key_env": "PSYMTL_TEST_KEY", "concurrency": 4, "max_attempts": 3,
            "timeout_s": 2.0, "backoff_s": 0.01} | kw


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("PSYMTL_TEST_KEY", SECRET)


def test_schema_validation():
    schema = load(RES / "schema_v1.json")
    ok = validate(dict(GOOD, emotion_probs={"very_negative": 0.1, "negative": 0.6,
                                            "neutral": 0.2, "positive": 0.12}), schema)
    assert sum(ok["emotion_probs"].values()) == pytest.approx(1.0)  # renormalised
    with pytest.raises(InvalidAnswer, match="speaker_role"):
        validate(dict(GOOD, speaker_role="doctor"), schema)
    with pytest.raises(InvalidAnswer, match=r"sum to 2\.000"):
        validate(dict(GOOD, emotion_probs={k: 0.5 for k in GOOD["emotion_probs"]}), schema)
    with pytest.raises(InvalidAnswer, match="not JSON"):
        validate("{oops", schema)


def test_openai_happy_path_usage_and_cost(tmp_path):
    with LLMServer() as server:
        ann, rep, fails = run.annotate(posts("a", "b", "c"), openai_backend(server),
                                       cache_path=tmp_path / "c.sqlite", **PATHS)
    assert (ann["annotation_status"] == "ok").all() and fails.empty
    sent = [answer(r["messages"][-1]["content"]) for r in server.requests]
    assert (sorted(zip(ann["speaker_role"], ann["high_need"], strict=True))
            == sorted((a["speaker_role"], int(a["high_need"])) for a in sent))
    assert rep["calls"] == 3 and rep["prompt_tokens"] == 360 and rep["completion_tokens"] == 180
    assert rep["cost_usd"] == pytest.approx(360 / 1e6 * 0.15 + 180 / 1e6 * 0.60)
    assert server.auth_headers[0] == f"Bearer {SECRET}"
    req = server.requests[0]
    assert req["response_format"]["type"] == "json_schema"
    assert req["response_format"]["json_schema"]["strict"] is True


def test_faults_are_retried_then_reported(tmp_path):
    texts = ["RATE one", "FIVEHUNDRED two", "SLOW three", "BADJSON four", "BADSCHEMA five",
             "REFUSE six", "fine seven"]
    with LLMServer(slow_s=3.0) as server:
        ann, rep, fails = run.annotate(posts(*texts), openai_backend(server),
                                       cache_path=tmp_path / "c.sqlite", **PATHS)
    status = dict(zip(texts, ann["annotation_status"], strict=True))
    for t in ("RATE one", "FIVEHUNDRED two", "SLOW three", "fine seven"):
        assert status[t] == "ok", t
    reasons = dict(zip(fails["id"], fails["reason"], strict=True))
    assert set(reasons) == {"p3", "p4", "p5"}
    assert "not JSON" in reasons["p3"] and "sum to" in reasons["p4"]
    assert "refusal" in reasons["p5"]
    assert server.calls["RATE one"] == 2 and server.calls["FIVEHUNDRED two"] == 3
    assert server.calls["BADJSON four"] == 3  # max_attempts, then reported
    assert rep["failed"] == 3 and rep["errors"]["RateLimitError"] == 1
    assert rep["errors"]["InternalServerError"] == 2 and rep["errors"]["APITimeoutError"] == 1


def test_rerun_is_served_from_cache(tmp_path):
    df = posts("x", "y", "z")
    with LLMServer() as server:
        run.annotate(df, openai_backend(server), cache_path=tmp_path / "c.sqlite", **PATHS)
        assert server.total_calls == 3
        _, rep, _ = run.annotate(df, openai_backend(server),
                                   cache_path=tmp_path / "c.sqlite", **PATHS)
        assert server.total_calls == 3 and rep["cache_hits"] == 3
        run.annotate(df, openai_backend(server, model="gpt-4o"),  # another model: new answers
                     cache_path=tmp_path / "c.sqlite", **PATHS)
        assert server.total_calls == 6


def test_killed_run_keeps_answers_and_rerun_asks_only_for_the_rest(tmp_path):
    texts = [f"post number {i}" for i in range(30)]
    pd.DataFrame({"id": [f"p{i}" for i in range(30)], "text": texts}).to_parquet(
        tmp_path / "posts.parquet")
    with LLMServer(latency_s=0.1) as server:
        script = textwrap.dedent(f"""
            import pandas as pd
            from psymtl.annotate import run
            df = pd.read_parquet({str(tmp_path / 'posts.parquet')!r})
            backend = {openai_backend(server, concurrency=1, timeout_s=5)!r}
            run.annotate(df, backend, cache_path={str(tmp_path / 'c.sqlite')!r},
                         prompt_path={str(PATHS['prompt_path'])!r},
                         schema_path={str(PATHS['schema_path'])!r}, labels_path=None)
        """)
        proc = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy())
        deadline = time.time() + 60
        while server.total_calls < 8 and time.time() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        asked_before = Counter(server.calls)
        paid = server.total_calls
        assert 8 <= paid < 30
        # A generous timeout: a retry after a timeout on a loaded machine is a second call
        # for the same post, which this test is not about.
        ann, rep, _ = run.annotate(pd.read_parquet(tmp_path / "posts.parquet"),
                                   openai_backend(server, timeout_s=5),
                                   cache_path=tmp_path / "c.sqlite", **PATHS)
    assert (ann["annotation_status"] == "ok").all()
    assert rep["cache_hits"] >= paid - 1  # at most the one in flight was lost
    asked_again = server.calls - asked_before
    assert len(asked_again) == 30 - rep["cache_hits"]  # each uncached post, once or retried
    answered_before = {t for t, n in asked_before.items() if n} - set(asked_again)
    assert len(answered_before) == rep["cache_hits"]  # no cached post was asked again


def test_damaged_cache_is_quarantined_not_trusted(tmp_path):
    cache = tmp_path / "c.sqlite"
    cache.write_bytes(b"this is not a database" * 100)
    with LLMServer() as server:
        ann, rep, _ = run.annotate(posts("a"), openai_backend(server), cache_path=cache,
                                   **PATHS)
    assert rep["cache_quarantined"] and Path(rep["cache_quarantined"]).exists()
    assert (ann["annotation_status"] == "ok").all() and server.total_calls == 1


def test_damaged_cache_row_is_dropped(tmp_path):
    import sqlite3

    cache = tmp_path / "c.sqlite"
    with LLMServer() as server:
        run.annotate(posts("a", "b"), openai_backend(server), cache_path=cache, **PATHS)
        db = sqlite3.connect(cache)
        db.execute("UPDATE answers SET value = "
                   "replace(value, '\"speaker_role\"', '\"speaker_role\" ') "
                   "WHERE rowid = 1")
        db.commit()
        db.close()
        _, rep, _ = run.annotate(posts("a", "b"), openai_backend(server), cache_path=cache,
                                 **PATHS)
    assert rep["cache_damaged_rows"] == 1 and server.total_calls == 3


def test_missing_key_and_bad_key_fail_clearly(tmp_path, monkeypatch):
    monkeypatch.delenv("PSYMTL_TEST_KEY")
    with LLMServer() as server, pytest.raises(FatalAPIError, match="PSYMTL_TEST_KEY"):
        run.annotate(posts("a"), openai_backend(server), cache_path=tmp_path / "c", **PATHS)


def test_unauthorised_stops_the_run(tmp_path):
    with LLMServer() as server, pytest.raises(FatalAPIError, match="401"):
        run.annotate(posts("AUTH a"), openai_backend(server), cache_path=tmp_path / "c",
                     **PATHS)


def test_api_key_never_reaches_outputs(tmp_path):
    with LLMServer() as server:
        ann, rep, fails = run.annotate(posts("a", "BADJSON b"), openai_backend(server),
                                       cache_path=tmp_path / "c.sqlite", **PATHS)
    ann.to_parquet(tmp_path / "ann.parquet")
    fails.to_csv(tmp_path / "fails.csv")
    (tmp_path / "rep.txt").write_text(repr(rep))
    for f in tmp_path.iterdir():
        assert SECRET.encode() not in f.read_bytes(), f


def test_local_backend_is_deterministic_and_follows_the_schema(tmp_path):
    df = posts("I was diagnosed with lung cancer. The bills and insurance costs are piling up.",
               "Great news today, the scan came back clear and we are so grateful!")
    a1, rep, _ = run.annotate(df, {"backend": "local", "encoder": "minilm"},
                              cache_path=tmp_path / "1.sqlite", **PATHS)
    a2, _, _ = run.annotate(df, {"backend": "local", "encoder": "minilm"},
                            cache_path=tmp_path / "2.sqlite", **PATHS)
    pd.testing.assert_frame_equal(a1, a2)
    assert a1.loc[0, "cancer_type"] == "lung" and a1.loc[0, "financial_strain"] >= 2
    assert a1.loc[0, "speaker_role"] == "patient"
    probs = a1.loc[1, "emotion_probs"]
    assert max(range(4), key=lambda i: probs[i]) == 3  # positive
    assert rep["cost_usd"] == 0


def test_file_backend(tmp_path):
    row = {"id": "p0", "treatment_burden": 1, "financial_strain": 0, "uncertainty": 2,
           "unmet_support_needs": 0, "composite_burden": 3.0, "high_need": "false",
           "speaker_role": "patient", "cancer_type": "colon", "emotion_very_negative": 0.0,
           "emotion_negative": 0.2, "emotion_neutral": 0.8, "emotion_positive": 0.0}
    pd.DataFrame([row]).to_csv(tmp_path / "ann.csv", index=False)
    ann, rep, fails = run.annotate(posts("a", "b"), {"backend": "file",
                                                     "path": str(tmp_path / "ann.csv")},
                                   cache_path=tmp_path / "c", **PATHS)
    assert ann.loc[0, "cancer_type"] == "colon" and ann.loc[0, "high_need"] == 0
    assert list(fails["id"]) == ["p1"] and rep["failed"] == 1
    pd.DataFrame([row | {"speaker_role": "nurse"}]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InputError, match=r"bad\.csv, line 2: speaker_role"):
        run.annotate(posts("a"), {"backend": "file", "path": str(tmp_path / "bad.csv")},
                     cache_path=tmp_path / "c", **PATHS)
