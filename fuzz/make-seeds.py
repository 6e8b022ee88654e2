#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/: a few valid examples of each input,
in the shape each harness reads (see the doc comment of each Sources/Fuzz*/ harness).
Deterministic; run it again after a format changes. The corpora the long runs grew are
merged into the same directories by `fuzz/run.sh`, so this only adds files."""
import hashlib
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def byte_string(data: bytes) -> bytes:
    return varint(len(data)) + data


def record(effects: list) -> bytes:
    return bytes([1]) + varint(len(effects)) + b"".join(effects)


SET = bytes([1]) + byte_string(b"key") + byte_string(b"value")
SET_EXPIRY = bytes([2]) + byte_string(b"k2") + byte_string(b"v") + struct.pack("<q", 1_700_000_000_000)
DELETE = bytes([3]) + byte_string(b"gone")
RENAME = bytes([6]) + byte_string(b"a") + byte_string(b"b")
SET_RANGE = bytes([9]) + byte_string(b"r") + varint(3) + byte_string(b"xyz")
REMEMBER = (bytes([10]) + byte_string(b"idem") + struct.pack("<Qq", 42, 7)
            + bytes([6]) + varint(2) + bytes([3]) + struct.pack("<q", 5) + bytes([4]) + byte_string(b"ok"))


def lz4_literals(raw: bytes) -> bytes:
    """An LZ4 block holding `raw` as literals only (valid, if not compressed)."""
    length = len(raw)
    token = min(length, 15) << 4
    out = bytearray([token])
    if length >= 15:
        rest = length - 15
        while rest >= 255:
            out.append(255)
            rest -= 255
        out.append(rest)
    return bytes(out) + raw


def snapshot(lsn: int, epoch: int, entries: list) -> bytes:
    header = b"UNDSTSNP" + struct.pack("<IIQQI", 1, 0, lsn, epoch, 0)
    out = bytearray(header + struct.pack("<I", crc32c(header)))
    if entries:
        raw = record(entries)
        compressed = lz4_literals(raw)
        lengths = struct.pack("<II", len(raw), len(compressed))
        out += lengths + struct.pack("<I", crc32c(lengths + compressed)) + compressed
    out += struct.pack("<IQI", 0xFFFFFFFF, len(entries), 1 if entries else 0)
    out += struct.pack("<I", crc32c(bytes(out)))
    return bytes(out)


def wal_frames(epoch: int, payloads: list) -> bytes:
    out = bytearray()
    for index, payload in enumerate(payloads):
        body = struct.pack("<QQ", epoch, index + 1) + payload
        out += struct.pack("<II", len(payload), crc32c(body)) + body
    return bytes(out)


def multibulk(*words: bytes) -> bytes:
    return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)


CLUSTER = b"0123456789abcdef0123456789abcdef"
SEEDS = {
    "FuzzRESPCommand": [
        b"\x03" + multibulk(b"SET", b"key", b"value") + multibulk(b"GET", b"key"),
        b"\x00" + b"PING\r\nECHO hello\r\n\r\n" + multibulk(b"DEL", b"a", b"b"),
        b"\x07" + b'SET "quoted key" \'single\' "\\x41\\n"\r\n',
        b"\x10" + b"*0\r\n*-1\r\n" + multibulk(b"HELLO", b"3", b"AUTH", b"u", b"p"),
    ],
    "FuzzRESPReply": [
        b"\x02+OK\r\n-ERR bad\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n:1\r\n$1\r\na\r\n*-1\r\n",
        b"\x05_\r\n,3.25\r\n,inf\r\n#t\r\n(12345678901234567890\r\n=8\r\ntxt:abcd\r\n!3\r\nERR\r\n",
        b"\x01%1\r\n+k\r\n:1\r\n~2\r\n+a\r\n+b\r\n>3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n",
    ],
    "FuzzReplicationFrame": [
        bytes([3]) + struct.pack("<IQ", 24, 2) + struct.pack("<QQQ", 10, 1000, 999),
        bytes([1]) + struct.pack("<IQ", 5 + 4, 1) + bytes([0]) + struct.pack("<I", 4) + b"abcd",
        bytes([7]) + struct.pack("<IQ", 16, 3) + struct.pack("<QQ", 9, 8),
        bytes([8]) + struct.pack("<IQ", 5, 1) + b"oops!",
    ],
    "FuzzStandbyHandshake": [
        b"\x00".join([b"REPLICATE", b"1", b"127.0.0.1:7001", b"2", b"10", b"12345", b"1:0,2:5", CLUSTER]),
        b"\x00".join([b"REPLICATE", b"1", b"[::1]:7001", b"1", b"0", b"-", b"1:0"]),
    ],
    "FuzzHandshakeAnswer": [
        b"\x00STREAM 2 11 " + CLUSTER,
        b"\x00SNAPSHOT 2 100 4096 1 1:0,2:50 -",
        b"\x01DIVERGED 1:0,3:7 cluster=" + CLUSTER + b" history forked",
        b"\x01ERR not a primary",
    ],
    "FuzzWitnessMessage": [
        b"\x00" + b"\x00".join([b"WITNESS", b"HELLO", b"127.0.0.1:7001", b"primary", b"3", b"99", CLUSTER, b"3"]),
        b"\x00" + b"\x00".join([b"WITNESS", b"HEARTBEAT", b"127.0.0.1:7001", b"3", b"sync", b"2000", b"99", b"98",
                               b"0", b"98", CLUSTER, b"1"]),
        b"\x00" + b"\x00".join([b"WITNESS", b"VOTE", b"127.0.0.1:7002", b"4", b"98", b"1048576", b"-"]),
        b"\x00" + b"\x00".join([b"WITNESS", b"HANDOVER", b"a:1", b"4", b"b:2", b"1", b"50"]),
        b"\x00" + b"\x00".join([b"WITNESS", b"SYNC", b"a:1", b"4", b"1", b"17"]),
        b"\x00" + b"\x00".join([b"WITNESS", b"FORCE", b"a:1", b"5"]),
        b"\x03EPOCH 5 127.0.0.1:7001",
        b"\x03DENIED lease still held",
    ],
    "FuzzWALRecord": [
        b"\x00" + wal_frames(1, [record([SET]), record([DELETE, RENAME])]),
        b"\x01" + record([SET, SET_EXPIRY, DELETE, bytes([4]) + byte_string(b"p"), bytes([7]), SET_RANGE, REMEMBER]),
        b"\x02\x01" + bytes([len(record([SET]))]) + record([SET]) + bytes([len(record([REMEMBER]))]) + record([REMEMBER]),
    ],
    "FuzzSnapshot": [
        b"\x00" + snapshot(10, 2, [SET, SET_EXPIRY]),
        b"\x01" + snapshot(0, 1, []),
        b"\x01" + snapshot(5, 1, [SET, REMEMBER]),
    ],
}


def main() -> None:
    for target, seeds in SEEDS.items():
        directory = os.path.join(ROOT, target)
        os.makedirs(directory, exist_ok=True)
        for seed in seeds:
            name = "seed-" + hashlib.sha1(seed).hexdigest()[:16]
            with open(os.path.join(directory, name), "wb") as handle:
                handle.write(seed)
    print(f"wrote seeds for {len(SEEDS)} targets under {ROOT}")


if __name__ == "__main__":
    main()
