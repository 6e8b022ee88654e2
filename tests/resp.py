"""A minimal RESP2 and RESP3 client for exact-reply tests.

redis-py reshapes replies and strips error prefixes; these tests need the bytes as the
server sent them, so this client returns every reply both parsed and raw.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Err:
    """An error reply, with its full text including the code (``ERR ...``, ``WRONGTYPE ...``)."""

    message: str


class Simple(str):
    """A simple-string reply (``+OK``); compares equal to a plain ``str``."""


class Closed(Exception):
    """The server closed the connection (or reset it) before a complete reply arrived."""


class _NeedMore(Exception):
    pass


def encode(*args: bytes | str | int | float) -> bytes:
    """Encode one command as a RESP multibulk request."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        else:
            data = str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _line(buffer: bytes, position: int) -> tuple[bytes, int]:
    end = buffer.find(b"\r\n", position)
    if end < 0:
        raise _NeedMore
    return buffer[position:end], end + 2


def parse(buffer: bytes, position: int = 0):
    """Parse one reply starting at ``position``; return ``(value, next_position)``.

    Bulk strings are decoded as UTF-8 with surrogateescape, so binary values round-trip
    through ``.encode("utf-8", "surrogateescape")``.
    """
    if position >= len(buffer):
        raise _NeedMore
    kind = buffer[position : position + 1]
    line, position = _line(buffer, position + 1)
    text = line.decode("utf-8", "surrogateescape")
    if kind == b"+":
        return Simple(text), position
    if kind == b"-":
        return Err(text), position
    if kind in (b":", b"("):
        return int(text), position
    if kind == b",":
        return float(text), position
    if kind == b"#":
        return text == "t", position
    if kind == b"_":
        return None, position
    if kind in (b"$", b"="):
        length = int(text)
        if length < 0:
            return None, position
        if len(buffer) < position + length + 2:
            raise _NeedMore
        data = buffer[position : position + length]
        if kind == b"=":
            data = data[4:]  # a verbatim string's format (``txt:``) is not part of the text
        return data.decode("utf-8", "surrogateescape"), position + length + 2
    if kind in (b"*", b"~", b">"):
        count = int(text)
        if count < 0:
            return None, position
        items = []
        for _ in range(count):
            item, position = parse(buffer, position)
            items.append(item)
        return items, position
    if kind == b"%":
        mapping = {}
        for _ in range(int(text)):
            key, position = parse(buffer, position)
            value, position = parse(buffer, position)
            mapping[key] = value
        return mapping, position
    raise ValueError(f"unexpected reply type byte {kind!r} in {buffer[:200]!r}")


class RawClient:
    """One TCP connection that sends bytes and reads whole replies, with a deadline."""

    def __init__(self, host: str, port: int, timeout: float = 10.0, ssl_context=None):
        """``ssl_context`` (an ``ssl.SSLContext``): talk TLS, as to a process started with
        ``--tls-cert-file`` (the handshake is done here, within ``timeout``)."""
        self.timeout = timeout
        #: The protocol the server speaks on this connection (``use_protocol`` changes it).
        self.protocol = 2
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl_context is not None:
            try:
                self.sock = ssl_context.wrap_socket(self.sock, server_hostname=host)
            except BaseException:
                self.sock.close()
                raise
        self.buffer = b""

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "RawClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete reply within {self.timeout}s; have {self.buffer[:200]!r}")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(1 << 20)
        except ConnectionResetError as error:
            raise Closed(f"connection reset; partial data {self.buffer[:200]!r}") from error
        if not chunk:
            raise Closed(f"connection closed; partial data {self.buffer[:200]!r}")
        self.buffer += chunk

    def read_reply_raw(self):
        """Read one complete reply; return ``(value, exact_bytes)``."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                value, end = parse(self.buffer)
            except _NeedMore:
                self._fill(deadline)
                continue
            raw, self.buffer = self.buffer[:end], self.buffer[end:]
            return value, raw

    def read_reply(self):
        return self.read_reply_raw()[0]

    def call(self, *args):
        """Send one command and return its parsed reply (errors as ``Err``)."""
        self.send(encode(*args))
        return self.read_reply()

    def use_protocol(self, version: int) -> None:
        """Switch the connection to RESP``version`` with ``HELLO``."""
        reply = self.call("HELLO", str(version))
        fields = reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2]))
        assert fields["proto"] == version, reply
        self.protocol = version

    @property
    def null_bulk(self) -> bytes:
        """The bytes of a null bulk reply in this connection's protocol."""
        return b"_\r\n" if self.protocol == 3 else b"$-1\r\n"

    def wire(self, *args) -> bytes:
        """Send one command and return the exact bytes of its reply."""
        self.send(encode(*args))
        return self.read_reply_raw()[1]

    def is_closed_by_peer(self, timeout: float = 5.0) -> bool:
        """True once the server has closed this connection (EOF or reset) within ``timeout``.

        Any bytes that arrive first are kept in the buffer.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.buffer += chunk
        return False
