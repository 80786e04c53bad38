"""A TCP port of a host brought out to the machine's loopback, as an SSH tunnel would:

    ip netns exec <client host> python -m tests.multihost.forward FD ADDRESS PORT

FD is a listening socket the parent bound on 127.0.0.1 in the machine's own namespace and
handed down; this process runs in a host's namespace, so each connection it accepts there is
carried to ADDRESS:PORT over the hosts' network. The machine's network stays untouched."""

import asyncio
import socket
import sys


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()  # a half-close passes through; the other way may still talk
    except (ConnectionError, OSError):
        sink.close()


async def _carry(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: str, port: int
) -> None:
    try:
        far_reader, far_writer = await asyncio.wait_for(
            asyncio.open_connection(address, port), timeout=5
        )
    except (OSError, TimeoutError):
        writer.close()
        return
    try:
        await asyncio.gather(_pipe(reader, far_writer), _pipe(far_reader, writer))
    finally:
        far_writer.close()
        writer.close()


async def serve(listening: socket.socket, address: str, port: int) -> None:
    server = await asyncio.start_server(lambda r, w: _carry(r, w, address, port), sock=listening)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> None:
    fd, address, port = int(argv[0]), argv[1], int(argv[2])
    asyncio.run(serve(socket.socket(fileno=fd), address, port))


if __name__ == "__main__":
    main(sys.argv[1:])
