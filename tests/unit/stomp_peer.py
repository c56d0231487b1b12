"""A scripted STOMP broker for one connection (this module holds no tests).

It answers CONNECT with CONNECTED, waits for the SUBSCRIBE, then plays `script(peer,
connection, subscription)`. Frames the client sends afterwards (ACK, DISCONNECT) are
read with `peer.read_frame(connection)`; a DISCONNECT that asks for a receipt gets it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

Script = Callable[["ScriptedBroker", socket.socket, str], None]


def message_frame(
    subscription: str, number: int, body: bytes = b"event", *, redelivered: bool = False
) -> bytes:
    head = (
        f"MESSAGE\ndestination:/queue/Q\nmessage-id:ID:fake-{number}\n"
        f"subscription:{subscription}\nack:ack-{number}\n"
        f"timestamp:{1_700_000_000_000 + number}\n"
        + ("redelivered:true\n" if redelivered else "")
        + f"content-length:{len(body)}\n\n"
    )
    return head.encode() + body + b"\0"


def end_frame(subscription: str) -> bytes:
    return f"MESSAGE\nsubscription:{subscription}\nmessage-id:0\nbrowser:end\n\n\0".encode()


def headers_of(frame: bytes) -> dict[str, str]:
    lines = frame.split(b"\n\n", 1)[0].decode().splitlines()[1:]
    return dict(line.split(":", 1) for line in lines if ":" in line)


class ScriptedBroker:
    def __init__(self, script: Script) -> None:
        self._script = script
        self._buffer = b""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"stomp://127.0.0.1:{self._listener.getsockname()[1]}"
        self.subscribe_headers: dict[str, str] = {}
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            login = self.read_frame(connection)  # STOMP or CONNECT
            if not login:
                return
            connection.sendall(b"CONNECTED\nversion:1.2\n\n\0")
            subscribe = self.read_frame(connection)
            self.subscribe_headers = headers_of(subscribe)
            self._script(self, connection, self.subscribe_headers.get("id", ""))

    def read_frame(self, connection: socket.socket) -> bytes:
        """The next frame the client sent (b"" when it went away); receipts are answered."""
        while b"\0" not in self._buffer:
            try:
                chunk = connection.recv(4096)
            except OSError:
                return b""
            if not chunk:
                return b""
            self._buffer += chunk
        frame, self._buffer = self._buffer.split(b"\0", 1)
        frame = frame.lstrip(b"\r\n")
        receipt = headers_of(frame).get("receipt")
        if frame.startswith(b"DISCONNECT") and receipt:
            connection.sendall(f"RECEIPT\nreceipt-id:{receipt}\n\n\0".encode())
        return frame

    def close(self) -> None:
        self._listener.close()
        self._thread.join(timeout=5)


def stay_until_disconnect(peer: ScriptedBroker, connection: socket.socket) -> list[bytes]:
    """Read frames until DISCONNECT or the client goes away; the frames read."""
    connection.settimeout(10)
    frames = []
    while frame := peer.read_frame(connection):
        frames.append(frame)
        if frame.startswith(b"DISCONNECT"):
            break
    return frames


def drop(connection: socket.socket) -> None:
    connection.shutdown(socket.SHUT_RDWR)
