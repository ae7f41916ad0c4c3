"""A small local site with a stalling page: `/` links to `/ok-N.html` pages and to `/drip.html`,
which (while `drip` is on) sends its headers and then one byte every `drip_interval` seconds, for
ever (until stopped), and otherwise an ordinary page.
The site's /robots.txt answers 404 (everything allowed)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def ok_page(n: int) -> bytes:
    words = " ".join(f"word{n}x{i}" for i in range(60))
    return f"<html><head><title>Page {n}</title></head><body><h1>Page {n}</h1><p>{words}.</p></body></html>".encode()


class DripSite:
    def __init__(self, ok_pages: int = 3, drip: bool = True, drip_interval: float = 0.5, drip_robots: bool = False):
        self.ok_pages, self.drip, self.drip_interval = ok_pages, drip, drip_interval
        self.drip_robots = drip_robots  # robots.txt drips too
        self.requests: list[str] = []
        self._stopping = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                site.requests.append(self.path)
                site.answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def index(self) -> bytes:
        links = "".join(f'<a href="/ok-{n}.html">ok {n}</a> ' for n in range(self.ok_pages))
        links += '<a href="/drip.html">slow</a>'  # slow while `drip` is on, an ordinary page after
        return f"<html><body><h1>Index</h1>{links}</body></html>".encode()

    def answer(self, h: BaseHTTPRequestHandler) -> None:
        if h.path == "/":
            return self._send(h, self.index())
        if h.path.startswith("/ok-"):
            return self._send(h, ok_page(int(h.path[4:].split(".")[0])))
        if (h.path == "/drip.html" and self.drip) or (h.path == "/robots.txt" and self.drip_robots):
            return self._drip(h)
        if h.path == "/drip.html":
            return self._send(h, ok_page(999))
        h.send_response(404)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _send(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _drip(self, h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        try:
            while not self._stopping.is_set():
                h.wfile.write(b"<")
                h.wfile.flush()
                time.sleep(self.drip_interval)
        except OSError:
            pass

    def __enter__(self) -> DripSite:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()
