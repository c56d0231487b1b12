"""A broker tunnel for the tests: a TCP forwarder run as `broker.tunnel`'s command.

    python tunnel_forwarder.py LISTEN_PORT TARGET_HOST TARGET_PORT [--child]

It listens on 127.0.0.1:LISTEN_PORT and forwards every connection to TARGET, as
`kubectl port-forward` or `ssh -N -L` do, and says so on stderr as they do. With
`--child` it also starts a helper process that lives as long as it (ssh and kubectl
have helpers too): stopping the tunnel must end its whole process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main(listen: int, host: str, port: int, child: bool) -> None:
    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            print(f"error: forwarding to {host}:{port}: {exc}", file=sys.stderr, flush=True)
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(forward, "127.0.0.1", listen)
    if child:
        # Named after the port, so a test can find it in the process list.
        helper = f"tunnel-helper-{listen}"
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", helper])
    print(f"Forwarding from 127.0.0.1:{listen} -> {host}:{port}", file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), "--child" in sys.argv[4:])
        )
