"""A real HTTP receiver on 127.0.0.1 that plays the API gateway in delivery tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "gateway-test-secret"


@dataclass
class Received:
    key: str
    payload: dict
    signature_ok: bool


@dataclass
class FakeGateway:
    """Answers 503 to the first `down_for` requests, then 200; `delay` slows every answer down."""

    down_for: int = 0
    delay: float = 0.0
    requests: int = 0
    accepted: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def handle(self, body: bytes, headers: dict[str, str]) -> int:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.requests += 1
            if self.requests <= self.down_for:
                return 503
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            signature = headers.get("X-HydraWatch-Signature", "")
            self.accepted.append(
                Received(
                    key=headers.get("Idempotency-Key", ""),
                    payload=json.loads(body),
                    signature_ok=hmac.compare_digest(expected, signature),
                )
            )
            return 200

    def effective(self) -> dict[str, Received]:
        """Deduplicated by idempotency key, as a real gateway would apply them."""
        with self.lock:
            return {r.key: r for r in self.accepted}


@contextmanager
def running_gateway(gateway: FakeGateway) -> Iterator[FakeGateway]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = gateway.handle(body, dict(self.headers))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/enforcement"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
