"""Downloads against a local HTTP server that misbehaves on purpose: retries with backoff,
truncation and checksum detection, a clear final error with the URL and the manual hint, and
no request to a host the config does not name."""

from __future__ import annotations

import collections
import hashlib
import threading
import typing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from psymtl import sources

BODY = b"label,text\ndsf,hello\n"


class Misbehaving(BaseHTTPRequestHandler):
    """/flaky<k>/f fails k times with 500 then serves; /down always 500; /truncated
    promises more bytes than it sends; /here redirects on this host, /away to another."""

    hits: typing.ClassVar[collections.Counter] = collections.Counter()

    def do_GET(self):
        self.hits[self.path] += 1
        failures = int(self.path[6]) if self.path.startswith("/flaky") else 0
        if self.path == "/down" or self.hits[self.path] <= failures:
            self.send_error(500, "on purpose")
        elif self.path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY) + 50))
            self.end_headers()
            self.wfile.write(BODY)
            self.close_connection = True
        elif self.path in ("/here", "/away"):
            host = "127.0.0.1" if self.path == "/here" else "localhost"
            self.send_response(302)
            self.send_header("Location", f"http://{host}:{self.server.server_port}/f")
            self.end_headers()
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Misbehaving.hits = collections.Counter()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}", Misbehaving.hits
    srv.shutdown()


def test_transient_failures_are_retried(server, tmp_path):
    base, hits = server
    sources.download(f"{base}/flaky2/f", tmp_path / "x.csv", hashlib.sha256(BODY).hexdigest(),
                     retries=3, backoff_s=0.01)
    assert (tmp_path / "x.csv").read_bytes() == BODY
    assert hits["/flaky2/f"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]  # no partial file left


def test_exhausted_retries_name_the_url_and_the_manual_route(server, tmp_path):
    base, hits = server
    spec = {"kind": "url", "retries": 2, "manual": "https://example.org/how-to-get-it",
            "files": {"train.csv": {"url": f"{base}/down"}}}
    with pytest.raises(sources.DownloadError) as err:
        sources.fetch("pirina", spec, tmp_path / "out")
    msg = str(err.value)
    assert f"could not download {base}/down after 3 attempts" in msg
    assert "500" in msg and "Manual download: https://example.org/how-to-get-it" in msg
    assert hits["/down"] == 3
    assert not (tmp_path / "out" / "train.csv").exists()


def test_truncated_body_is_retried_not_kept(server, tmp_path):
    base, hits = server
    with pytest.raises(sources.DownloadError, match="truncated"):
        sources.download(f"{base}/truncated", tmp_path / "x.csv", None, retries=1,
                         backoff_s=0.01)
    assert hits["/truncated"] == 2
    assert list(tmp_path.iterdir()) == []


def test_checksum_mismatch_is_not_retried(server, tmp_path):
    base, hits = server
    with pytest.raises(sources.DownloadError, match="checksum mismatch"):
        sources.download(f"{base}/f", tmp_path / "x.csv", "0" * 64, retries=3, backoff_s=0.01)
    assert hits["/f"] == 1
    assert list(tmp_path.iterdir()) == []


def test_only_hosts_the_config_names_are_contacted(server, tmp_path):
    base, hits = server
    sources.download(f"{base}/here", tmp_path / "a.csv", None, retries=0)
    assert (tmp_path / "a.csv").read_bytes() == BODY  # a redirect on the same host is fine
    with pytest.raises(sources.DownloadError, match="a host the config does not name"):
        sources.download(f"{base}/away", tmp_path / "b.csv", None, retries=3, backoff_s=0.01)
    assert hits["/away"] == 1 and hits["/f"] == 1  # refused at once, never followed
    assert not (tmp_path / "b.csv").exists()
