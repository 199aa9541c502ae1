#!/usr/bin/env python3
"""A keep-alive HTTP/1.1 server that answers every request after exactly DELAY seconds
(default 0.05): the target of the latency-accuracy benchmark. With SERIAL=1 it answers one
request at a time (capacity 1/DELAY per second), to show latency under a growing backlog.
With LOG it appends every request's path to that file, one a line (benches/data-feed.sh).
Usage: delay_server.py PORT [DELAY] [SERIAL] [LOG]."""
import asyncio
import sys

BODY = b'{"ok":true}'
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)


async def handle(reader, writer, delay, lock, log):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            if log is not None:
                log.write(head.split(b" ", 2)[1] + b"\n")
            if delay == 0:
                pass
            elif lock is None:
                await asyncio.sleep(delay)
            else:
                async with lock:
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
    lock = asyncio.Lock() if len(sys.argv) > 3 and sys.argv[3] == "1" else None
    log = open(sys.argv[4], "ab", buffering=0) if len(sys.argv) > 4 else None
    server = await asyncio.start_server(lambda r, w: handle(r, w, delay, lock, log), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


asyncio.run(main())
