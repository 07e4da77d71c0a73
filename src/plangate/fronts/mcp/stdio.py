"""The agent's stdio, read and written on the event loop.

The SDK's `stdio_server()` reads each line and writes (and flushes) each message through a
worker thread: three thread handoffs per call, which on a busy machine cost more than the
gate's own check. Here fds 0 and 1 are moved to private descriptors and served by asyncio
pipe transports; fd 0 then reads the null device and fd 1 goes to stderr, so a stray print
cannot corrupt the wire (as the SDK does). The streams are handed to `stdio_server()`,
which keeps its own framing and parsing. A stdin that is not a pipe, socket or terminal
falls back to the SDK's threads.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

LINE_LIMIT = 64 * 1024 * 1024  # one JSON-RPC message per line


class _Lines:
    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader

    def __aiter__(self) -> _Lines:
        return self

    async def __anext__(self) -> str:
        line = await self.reader.readline()
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", "replace")


class _Out:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer

    async def write(self, text: str) -> None:
        self.writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self.writer.drain()


@asynccontextmanager
async def agent_stdio() -> AsyncIterator[tuple[Any, Any]]:
    """(read, write) streams for `Server.run`, over the process's stdin and stdout."""
    import stat

    from mcp.server.stdio import stdio_server

    mode = os.fstat(0).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)):
        async with stdio_server() as streams:
            yield streams
        return
    loop = asyncio.get_running_loop()
    wire_in, wire_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    read_transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(wire_in, "rb", 0))
    write_transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(wire_out, "wb", 0))
    writer = asyncio.StreamWriter(write_transport, protocol, None, loop)
    try:
        async with stdio_server(stdin=_Lines(reader), stdout=_Out(writer)) as streams:  # type: ignore[arg-type]
            yield streams
    finally:
        read_transport.close()
        write_transport.close()
