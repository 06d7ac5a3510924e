#!/usr/bin/env python3
"""A small Atelier chat client: signs in, resumes, prints what arrives and
sends each line you type to one conversation.

    pip install websockets
    python3 examples/chat_client.py http://127.0.0.1:8000 <access token> <conversation id>

It keeps the last seq it has per conversation in memory; a real app keeps it
on disk and sends it in `resume` after every reconnect.
"""
import asyncio
import json
import sys
import uuid

import websockets


async def main(base, token, conversation):
    url = base.replace("http://", "ws://", 1).rstrip("/") + "/ws/chat/"
    last_seq = {}
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        print(json.loads(await ws.recv()))  # {"type": "ready", ...}
        await ws.send(json.dumps({"type": "resume", "conversations": last_seq}))

        async def read():
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] in ("message.new", "ack"):
                    m = frame["message"]
                    last_seq[m["conversation_id"]] = max(last_seq.get(m["conversation_id"], 0), m["seq"])
                if frame["type"] == "resync":
                    await ws.send(json.dumps({"type": "resume", "conversations": last_seq}))
                print(frame)

        async def write():
            loop = asyncio.get_running_loop()
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line:
                    return
                await ws.send(json.dumps({
                    "type": "send", "conversation_id": conversation,
                    "client_id": str(uuid.uuid4()), "text": line.strip(),
                }))

        await asyncio.gather(read(), write())


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
