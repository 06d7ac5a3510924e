#!/usr/bin/env python3
"""A small Atelier chat client: signs in, resumes, prints what arrives and
sends each line you type to one conversation.

    pip install websockets
    python3 examples/chat_client.py http://127.0.0.1:8000 <access token> <conversation id>

It keeps the last seq and the last change_seq it has per conversation in
memory; a real app keeps them on disk and sends them in `resume` after every
reconnect, so it gets the messages, edits, deletions and read moves it missed.
"""
import asyncio
import json
import sys
import uuid

import websockets


async def main(base, token, conversation):
    url = base.replace("http://", "ws://", 1).rstrip("/") + "/ws/chat/"
    last_seq, last_change = {}, {}

    def positions():
        return {c: {"seq": s, "change_seq": last_change.get(c, 0)} for c, s in last_seq.items()}

    def seen(conversation, seq=None, change_seq=None):
        if seq is not None:
            last_seq[conversation] = max(last_seq.get(conversation, 0), seq)
        if change_seq is not None:
            last_change[conversation] = max(last_change.get(conversation, 0), change_seq)

    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        print(json.loads(await ws.recv()))  # {"type": "ready", ...}
        await ws.send(json.dumps({"type": "resume", "conversations": positions()}))

        async def read():
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame["type"]
                if kind in ("message.new", "ack"):
                    m = frame["message"]
                    seen(m["conversation_id"], m["seq"], m["change_seq"])
                elif kind in ("message.updated", "message.deleted"):
                    m = frame["message"]
                    seen(m["conversation_id"], change_seq=m["change_seq"])
                elif kind == "read":
                    seen(frame["conversation_id"], change_seq=frame["change_seq"])
                elif kind == "resume.done":
                    for c, s in frame["conversations"].items():
                        seen(c, s, frame["changes"].get(c))
                elif kind == "resync":
                    await ws.send(json.dumps({"type": "resume", "conversations": positions()}))
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
