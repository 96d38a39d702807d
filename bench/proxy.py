"""A loopback TCP proxy that holds each request for a fixed delay before passing it on,
standing in for the distance between the API and AWS."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    try:
        while data := await reader.read(65536):
            if delay:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def _serve(upstream_port: int, delay: float, ready: threading.Event, port: list[int]) -> None:
    async def handle(
        client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            _pipe(client_reader, up_writer, delay),  # requests wait `delay`
            _pipe(up_reader, client_writer, 0.0),
        )

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port.append(server.sockets[0].getsockname()[1])
    ready.set()
    async with server:
        await server.serve_forever()


@contextmanager
def delay_proxy(upstream_port: int, delay_seconds: float) -> Iterator[int]:
    """Yields the proxy's port; runs on its own event loop thread until the block ends."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []
    task: list[asyncio.Task[None]] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        task.append(loop.create_task(_serve(upstream_port, delay_seconds, ready, port)))
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task[0])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield port[0]
    finally:
        loop.call_soon_threadsafe(task[0].cancel)
        thread.join(10)
