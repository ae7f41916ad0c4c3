"""A small local HTTP server for the sample site (tests, the demo, benchmarks).

Serves the files of a directory written by ``connectors.sample_site.generate_site`` the way a real
web server would: Content-Type by extension, strong ETags, Last-Modified from the file's mtime,
conditional GETs (304), HEAD, redirects from ``_redirects.json`` (301, or the status in
``_redirect_status.json``), directory index pages and 404s. It replaces the site's placeholder origin
(``sample_site.ORIGIN``) in text bodies with its own ``http://host:port``, so canonical links,
sitemaps, feeds and robots.txt point back at it.

For crawler tests, ``srv.faults`` injects failures per path (or ``"*"`` for every path):

* ``{"status": 429 or 503, "times": N, "retry_after": seconds}``: answer that status N times (forever
  when ``times`` is absent), with a Retry-After header when given, then normally;
* ``{"delay": seconds}``: sleep before answering;
* ``{"body_bytes": N}``: answer 200 with N bytes of generated HTML instead of the file.

Every request is recorded in ``srv.requests`` and, when ``log_path`` is given, appended to that file as
a JSON line, so a test can read the log of a server that runs in another process.

Command line: ``python -m corpusforge.connectors.sample_site.serve DIR [--port P] [--generate N] [--seed S]
[--quality] [--log FILE]``
prints the server's URL as the first line of stdout, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import mimetypes
import socket
import sys
import threading
import time
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from corpusforge.connectors.sample_site.text import ORIGIN, REDIRECT_STATUS_NAME, REDIRECTS_NAME

__all__ = ["SampleServer", "main"]

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".gz": "application/gzip",
    ".json": "application/json",
    ".pdf": "application/pdf",
    ".txt": "text/plain; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
_NAMED_TYPES = {"feed.xml": "application/rss+xml", "atom.xml": "application/atom+xml"}
_TEXT_SUFFIXES = frozenset((".html", ".htm", ".xml", ".txt", ".json", ".css"))
_FILLER = (
    b"<p>This page is deliberately large. It repeats the same sentence so that a crawler can test "
    b"its limit on the size of a response body.</p>\n"
)


def _content_type(path: Path) -> str:
    if path.name in _NAMED_TYPES:
        return _NAMED_TYPES[path.name]
    if path.suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[path.suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "CorpusforgeSample/1.0"
    timeout = 30
    # TCP_NODELAY, as web servers set it: a response goes out as two writes (headers, then body),
    # and with Nagle's algorithm the body waits for the client's delayed ACK of the headers (40 ms
    # on Linux), so every kept-alive request took 40 ms and a crawl measured the wait, not the crawler.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet: no stderr lines
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    # -- helpers ---------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, head: bool = False) -> None:
        with_body = bool(body) and not head and status != 304
        # Logged before anything is sent: a client that has its answer finds the entry in the log.
        self._record(status, len(body) if with_body else 0)
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _record(self, status: int, sent: int) -> None:
        self.server.owner._record(
            {
                "t": time.time(),
                "method": self.command,
                "path": self.path,
                "status": status,
                "if_none_match": self.headers.get("If-None-Match"),
                "if_modified_since": self.headers.get("If-Modified-Since"),
                "user_agent": self.headers.get("User-Agent"),
                "bytes_sent": sent,
            }
        )

    def _serve(self, head: bool) -> None:
        owner = self.server.owner
        path = unquote(urlsplit(self.path).path) or "/"
        fault = owner._take_fault(path)
        if fault.get("delay"):
            time.sleep(float(fault["delay"]))
        if fault.get("status"):
            headers = {"Content-Type": "text/plain; charset=utf-8"}
            if fault.get("retry_after") is not None:
                headers["Retry-After"] = str(fault["retry_after"])
            self._send(int(fault["status"]), b"Temporarily unavailable, try again later.\n", headers, head)
            return
        if fault.get("body_bytes") is not None:
            self._send_large(int(fault["body_bytes"]), head)
            return

        redirects, statuses = owner._redirects()
        if path in redirects:
            location = redirects[path]
            status = statuses.get(path, 301)
            self._send(status, b"", {"Location": location, "Content-Type": "text/plain"}, head)
            return

        target = owner._resolve(path)
        if target is None:
            body = b"<!DOCTYPE html><html><head><title>Not Found</title></head><body>Not Found</body></html>"
            self._send(404, body, {"Content-Type": "text/html; charset=utf-8"}, head)
            return
        stat = target.stat()
        body = owner._body(target)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        last_modified = formatdate(stat.st_mtime, usegmt=True)
        headers = {"ETag": etag, "Last-Modified": last_modified, "Cache-Control": "max-age=0"}
        if self._not_modified(etag, int(stat.st_mtime)):
            self._send(304, b"", headers, head)
            return
        headers["Content-Type"] = _content_type(target)
        self._send(200, body, headers, head)

    def _not_modified(self, etag: str, mtime: int) -> bool:
        # RFC 9110: If-None-Match wins; If-Modified-Since counts only when If-None-Match is absent.
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [t.strip() for t in if_none_match.split(",")]
            return "*" in tags or etag in tags or f"W/{etag}" in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since:
            try:
                since = parsedate_to_datetime(if_modified_since).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return False
            return mtime <= since
        return False

    def _send_large(self, size: int, head: bool) -> None:
        # Logged after sending, with the bytes that really went out (a client may hang up early).
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        sent = 0
        if not head:
            filler = _FILLER * (65536 // len(_FILLER))
            piece = b"<!DOCTYPE html><html><head><title>Large page</title></head><body>\n" + filler
            while sent < size:
                try:
                    self.wfile.write(piece[: size - sent])
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += min(len(piece), size - sent)
                piece = filler
        self._record(200, sent)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: SampleServer

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self.connections_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self.connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Hang up on kept-alive clients, so a stopped server really stops answering."""
        with self.connections_lock:
            connections = list(self.open_connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up is not an error worth printing


class SampleServer:
    """Serve a sample site on localhost in a background thread.

    ``with SampleServer(root) as srv: httpx.get(srv.url + "/")``. ``port=0`` picks a free port.
    """

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0, log_path: Path | None = None) -> None:
        self.root = Path(root).resolve()
        self.host = host
        self.requested_port = port
        self.log_path = Path(log_path) if log_path is not None else None
        self.faults: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.rewrite_origin = True
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._redirect_cache: tuple[tuple, tuple[dict, dict]] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> SampleServer:
        if self._httpd is not None:
            return self
        if not self.root.is_dir():
            raise FileNotFoundError(f"sample site directory {self.root} does not exist")
        httpd = _Server((self.host, self.requested_port), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="sample-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SampleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- used by the handler ---------------------------------------------------------------------

    def _record(self, entry: dict) -> None:
        with self._lock:
            self.requests.append(entry)
            if self.log_path is not None:
                with self.log_path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry) + "\n")

    def _take_fault(self, path: str) -> dict:
        """The fault to apply to this request; counts down ``times`` of a status fault."""
        with self._lock:
            key = path if path in self.faults else "*" if "*" in self.faults else None
            if key is None or not self.faults[key]:
                return {}
            stored = self.faults[key]
            fault = dict(stored)
            if fault.get("status") and "times" in fault:
                remaining = int(stored["times"])
                if remaining <= 0:
                    fault.pop("status")
                else:
                    stored["times"] = remaining - 1
            return fault

    def _redirects(self) -> tuple[dict, dict]:
        files = (self.root / REDIRECTS_NAME, self.root / REDIRECT_STATUS_NAME)
        key = tuple(f.stat().st_mtime_ns if f.exists() else None for f in files)
        cached = self._redirect_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        loaded = tuple(json.loads(f.read_text(encoding="utf-8")) if f.exists() else {} for f in files)
        self._redirect_cache = (key, loaded)
        return loaded

    def _resolve(self, path: str) -> Path | None:
        if any(part.startswith("_") for part in path.split("/")[1:2]) or "\x00" in path:
            return None  # the manifest and the redirect tables are for tests, not for crawlers
        target = (self.root / path.lstrip("/")).resolve()
        if target != self.root and self.root not in target.parents:
            return None
        if target.is_dir():
            target = target / "index.html"
        return target if target.is_file() else None

    def _body(self, target: Path) -> bytes:
        body = target.read_bytes()
        if not self.rewrite_origin:
            return body
        origin = ORIGIN.encode("ascii")
        if target.suffix in _TEXT_SUFFIXES:
            return body.replace(origin, self.url.encode("ascii")) if origin in body else body
        if target.suffix == ".gz":
            try:
                inner = gzip.decompress(body)
            except (OSError, EOFError):
                return body
            if origin in inner:
                return gzip.compress(inner.replace(origin, self.url.encode("ascii")), mtime=0)
        return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m corpusforge.connectors.sample_site.serve", description="Serve a corpusforge sample site."
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--generate", type=int, metavar="N", help="generate an N-page site into DIR first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quality",
        action="store_true",
        help="with --generate: add documentation pages (to keep) and junk pages (to drop), see generate_site",
    )
    parser.add_argument("--log", type=Path, help="append one JSON line per request to this file")
    args = parser.parse_args(argv)
    if args.generate:
        from corpusforge.connectors.sample_site.site import generate_site

        generate_site(args.directory, pages=args.generate, seed=args.seed, quality=args.quality)
    server = SampleServer(args.directory, host=args.host, port=args.port, log_path=args.log)
    server.start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
