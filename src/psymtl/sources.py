"""Raw-data acquisition: synthetic default, local path, URL (with sha256 and retries), HF hub."""

from __future__ import annotations

import logging
import shutil
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from psymtl.checksums import sha256sum
from psymtl.errors import InputError

log = logging.getLogger(__name__)


class DownloadError(RuntimeError):
    pass


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the host the config names: nothing else is fetched."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = urllib.parse.urljoin(req.full_url, newurl)
        if urllib.parse.urlsplit(new).hostname != urllib.parse.urlsplit(req.full_url).hostname:
            raise DownloadError(f"{req.full_url} redirects to {new}, a host the config does not "
                                "name; put that URL in the config if it is the right source.")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SameHostRedirects)


def download(url: str, dest: Path, sha256: str | None, retries: int, hint: str = "",
             backoff_s: float = 2.0, timeout_s: float = 60.0) -> None:
    """Fetch ``url`` to ``dest``, verify its length and checksum, retry with backoff."""
    last: Exception | None = None
    for attempt in range(1, retries + 2):
        tmp = dest.with_name(f".{dest.name}.part")
        try:
            with _OPENER.open(url, timeout=timeout_s) as resp, open(tmp, "wb") as f:
                shutil.copyfileobj(resp, f)
                expected = resp.headers.get("Content-Length")
            size = tmp.stat().st_size
            if expected is not None and size != int(expected):
                raise OSError(f"truncated: got {size} of {expected} bytes")
            got = sha256sum(tmp)
            if sha256 and got != sha256.lower():
                raise DownloadError(
                    f"checksum mismatch for {url}: expected sha256 {sha256}, got {got}. "
                    "The file changed upstream or was corrupted in transit." + hint)
            tmp.replace(dest)
            return
        except DownloadError:
            raise
        except Exception as exc:  # network errors of every kind are retried
            last = exc
            log.warning("download of %s failed (attempt %d/%d): %s", url, attempt,
                        retries + 1, exc)
            if attempt <= retries:
                time.sleep(backoff_s * attempt)
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(f"could not download {url} after {retries + 1} attempts ({last})."
                        + hint)


def fetch(dataset: str, source: dict[str, Any], out_dir: str | Path,
          dreaddit_columns: list[str] | None = None, dataset_kind: str | None = None) -> None:
    """Materialise ``dataset`` (of ``dataset_kind``, default its name) in its original file
    layout under ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kind = source["kind"]
    if kind == "synthetic":
        from psymtl import datasets

        datasets.kind(dataset, {"kind": dataset_kind or dataset}).synthetic(
            out, source, dreaddit_columns)
    elif kind == "path":
        src = Path(source["path"])
        if not src.exists():
            raise InputError(src, f"datasets.{dataset}.path does not exist." + _hint(source))
        if src.is_dir():
            shutil.copytree(src, out, dirs_exist_ok=True)
        else:
            shutil.copy2(src, out / source.get("filename", src.name))
    elif kind == "url":
        hint, retries = _hint(source), source.get("retries", 3)
        for name, spec in source["files"].items():
            if "member" in spec:  # a file inside a zip archive; the checksum is the member's
                archive = out / (Path(spec["url"]).name or "archive.zip")
                if not archive.exists():
                    download(spec["url"], archive, None, retries, hint)
                with zipfile.ZipFile(archive) as zf, open(out / name, "wb") as f:
                    f.write(zf.read(spec["member"]))
                got = sha256sum(out / name)
                if spec.get("sha256") and got != spec["sha256"].lower():
                    raise DownloadError(f"checksum mismatch for {name} in {spec['url']}: "
                                        f"expected sha256 {spec['sha256']}, got {got}." + hint)
            else:
                download(spec["url"], out / name, spec.get("sha256"), retries, hint)
    elif kind == "hf":
        from datasets import load_dataset

        ds = load_dataset(source["id"], revision=source.get("revision"))
        names = {"train": "train", "dev": "validation", "test": "test"} | source.get("splits", {})
        for ours, theirs in names.items():
            ds[theirs].save_to_disk(str(out / f"{ours}_set"))
    else:  # the config schema forbids other kinds
        raise ValueError(f"{dataset}: unknown source kind {kind!r}")


def _hint(source: dict[str, Any]) -> str:
    return f" Manual download: {source['manual']}" if source.get("manual") else ""
