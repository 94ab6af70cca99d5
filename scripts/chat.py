"""Chat with the running bot from a terminal, over the REST channel."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
import uuid


def send(url: str, sender: str, text: str) -> list[dict]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read() or b"[]")


def main() -> int:
    port = os.environ.get("RASA_PORT", "5005")
    url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
    sender = f"terminal-{uuid.uuid4().hex[:8]}"
    print(f"Talking to {url} as {sender}. Type a question; Ctrl-D to quit.")
    while True:
        try:
            text = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not text:
            continue
        try:
            replies = send(url, sender, text)
        except (urllib.error.URLError, ConnectionError) as exc:
            print(
                f"error: the bot is not reachable at {url} ({exc}); start it with `make run`", file=sys.stderr
            )
            return 1
        for reply in replies:
            if reply.get("text"):
                print(f"bot> {reply['text']}")
            for button in reply.get("buttons") or []:
                print(f"     [{button.get('title')}]")


if __name__ == "__main__":
    sys.exit(main())
