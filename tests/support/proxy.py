"""An HTTP reverse proxy in front of the emulator that the tests can take down and bring back: an AWS outage.

Each whole HTTP request a client sends is forwarded to the upstream (the emulator) and its answer streamed
back, on kept-alive connections both ways. ``down()`` stops forwarding: every new connection, and every new
request on a kept-alive one, is dropped without an answer (reset), as an unreachable AWS endpoint looks to
the SDKs; requests already forwarded still complete, so the emulator never creates a resource whose answer
is lost — the network to AWS is lost between calls. ``up()`` forwards again.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding"}
    | {"upgrade", "expect"}
)
CHUNK = 64 * 1024


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP reset: the client gets no answer at all."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client says otherwise
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.upstream: http.client.HTTPConnection | None = None

    def finish(self) -> None:
        if self.upstream is not None:
            self.upstream.close()
        with contextlib.suppress(OSError):
            super().finish()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, OSError):
            self.close_connection = True

    def handle_expect_100(self) -> bool:
        if not self.server.proxy.is_up:
            return True  # the request is dropped once read; answer nothing
        return super().handle_expect_100()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (the base class's name)
        pass

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self) -> None:
        body = self._body()
        proxy = self.server.proxy
        with proxy.lock:
            if not proxy.is_up:
                proxy.dropped += 1
                self.close_connection = True
                _reset(self.connection)
                return
            proxy.in_flight += 1
        try:
            self._relay(body)
        finally:
            with proxy.lock:
                proxy.in_flight -= 1
                proxy.forwarded += 1

    def _send(self, body: bytes) -> http.client.HTTPResponse:
        """Send the request upstream; a kept-alive upstream connection the emulator closed is opened again."""
        proxy = self.server.proxy
        for attempt in (1, 2):
            reused = self.upstream is not None
            if self.upstream is None:
                self.upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=300)
            try:
                self.upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.upstream.putheader(name, value)
                if body or self.command in ("POST", "PUT", "PATCH"):
                    self.upstream.putheader("Content-Length", str(len(body)))
                self.upstream.endheaders(body or None)
                return self.upstream.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.upstream.close()
                self.upstream = None
                if not reused or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _relay(self, body: bytes) -> None:
        response = self._send(body)
        length = response.getheader("Content-Length")
        chunked = length is None and self.command != "HEAD" and response.status not in (204, 304)
        self.wfile.write(f"HTTP/1.1 {response.status} {response.reason}\r\n".encode("latin-1"))
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.wfile.write(f"{name}: {value}\r\n".encode("latin-1"))
        if chunked:
            self.wfile.write(b"Transfer-Encoding: chunked\r\n")
        if self.close_connection:
            self.wfile.write(b"Connection: close\r\n")
        self.wfile.write(b"\r\n")
        while chunk := response.read(CHUNK):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        if response.will_close:
            self.upstream.close()
            self.upstream = None

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _forward


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: OutageProxy

    def verify_request(self, request, client_address) -> bool:
        if not self.proxy.is_up:
            with self.proxy.lock:
                self.proxy.dropped += 1
            _reset(request)
            return False
        return True


class OutageProxy:
    """A reverse proxy to ``upstream`` (``http://host:port``) on 127.0.0.1; ``endpoint`` is its URL."""

    def __init__(self, upstream: str, port: int = 0) -> None:
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname, parts.port or 80
        self.lock = threading.Lock()
        self.is_up = True
        self.in_flight = self.forwarded = self.dropped = 0
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="outage-proxy", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> OutageProxy:
        self._thread.start()
        return self

    def down(self) -> None:
        """Forward nothing more: new connections and new requests are dropped unanswered."""
        with self.lock:
            self.is_up = False

    def up(self) -> None:
        """Forward again."""
        with self.lock:
            self.is_up = True

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> OutageProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
