#!/usr/bin/env python3
"""A keep-alive HTTP/1.1 server that answers every request after exactly DELAY seconds
(default 0.05): the target of the latency-accuracy benchmark. Usage: delay_server.py PORT [DELAY]."""
import asyncio
import sys

BODY = b'{"ok":true}'
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)


async def handle(reader, writer, delay):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(delay)
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    port = int(sys.argv[1])
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.05
    server = await asyncio.start_server(lambda r, w: handle(r, w, delay), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


asyncio.run(main())
