"""A load generator that costs the machine little: one asyncio loop, raw keep-alive
HTTP/1.1 over loopback, every request encoded before the clock starts.

For benchmark 9, which asks whether a second server process adds throughput: on a
two-core machine the 32 httpx clients of bench.load share the CPU with both server
processes. With this generator both N=1 and N=2 served more, N=2 most. The other
benchmarks keep bench.load: they compare two servers under the same generator.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

from bench.load import Load


def encoded_posts(url: str, bodies: list[dict[str, Any]]) -> list[bytes]:
    parts = urlsplit(url)
    requests = []
    for body in bodies:
        payload = json.dumps(body).encode()
        head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        requests.append(head.encode() + payload)
    return requests


async def _read_status(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def _load(url: str, requests: list[bytes], clients: int) -> Load:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    connections = [await asyncio.open_connection(host, port) for _ in range(clients)]
    latencies: list[float] = []
    failures = 0

    async def client(index: int) -> None:
        nonlocal failures
        reader, writer = connections[index]
        for n in range(index, len(requests), clients):
            began = time.perf_counter()
            writer.write(requests[n])
            status = await _read_status(reader)
            latencies.append(time.perf_counter() - began)
            failures += status != 200

    began = time.perf_counter()
    await asyncio.gather(*(client(index) for index in range(clients)))
    seconds = time.perf_counter() - began
    for _, writer in connections:
        writer.close()
    return Load(len(requests), seconds, latencies, failures)


def lean_post_load(url: str, bodies: list[dict[str, Any]], clients: int) -> Load:
    """POST each body once, from `clients` keep-alive connections."""
    return asyncio.run(_load(url, encoded_posts(url, bodies), clients))
