"""A local stand-in for the OpenAI Chat Completions API (the real wire format).

It answers from the passages it actually received in the system prompt, so a test that
sees the passage's words in the bot's reply has proven that retrieval reached the model.
Modes make it fail the ways real APIs fail: HTTP 500, HTTP 429, or too slow to answer.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler

from tests.standins.http_standin import LoopbackServer

_PASSAGE = re.compile(r'<passage number="(\d+)"[^>]*>\n(.*?)\n</passage>', re.DOTALL)
_QUESTION = re.compile(r"<customer_question>\n(.*?)\n</customer_question>", re.DOTALL)
_RESTATED = re.compile(r"<restated_question>\n(.*?)\n</restated_question>", re.DOTALL)
_LANGUAGE = re.compile(r"^- Answer in (\w+)\.", re.MULTILINE)
_WORD = re.compile(r"[a-z0-9]+")
# What a real model would do for the questions the tests ask, from a fixed table: the
# standalone English question for a non-English or follow-up message...
STANDALONE = {
    "¿Cuánto cuesta el envío a Canadá?": "How much does shipping to Canada cost?",
    "Wie viel kostet der Versand nach Kanada?": "How much does shipping to Canada cost?",
    "Quanto costa la spedizione in Canada?": "How much does shipping to Canada cost?",
    "and can I start one right now?": "How do I install a firmware update right now?",
}
# ...and how it opens an answer in the customer's language (the quoted passage stays English).
OPENINGS = {
    "Spanish": "Según el centro de ayuda:",
    "German": "Laut unserem Hilfe-Center:",
    "Italian": "Secondo il centro assistenza:",
}


def first_sentence(text: str) -> str:
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line).strip()
        if len(line) > 20 and not line.startswith("|"):
            return re.split(r"(?<=[.!?])\s", line)[0]
    return text.strip().split("\n")[0]


class OpenAIStandIn:
    def __init__(self, latency: float = 0.0) -> None:
        # "answer", "error500", "error429", "slow", "uncited", "no_answer"
        self.mode = "answer"
        self.latency = latency
        self.slow_seconds = 30.0
        self.requests: list[dict] = []
        self._server = LoopbackServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> OpenAIStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reply_for(self, body: dict) -> str:
        messages = body.get("messages", [])
        system = next((m["content"] for m in messages if m.get("role") == "system"), "")
        user = next((m["content"] for m in messages if m.get("role") == "user"), "")
        passages = {int(n): text for n, text in _PASSAGE.findall(system)}
        match = _QUESTION.search(user)
        asked = match.group(1) if match else user
        if "one standalone question in English" in system:
            return STANDALONE.get(asked.strip(), asked.strip())
        restated = _RESTATED.search(user)
        question = set(_WORD.findall((restated.group(1) if restated else asked).lower()))
        if not passages or self.mode == "no_answer":
            return "NO_ANSWER"
        best = max(passages, key=lambda n: (len(question & set(_WORD.findall(passages[n].lower()))), -n))
        sentence = first_sentence(passages[best])
        language = _LANGUAGE.search(system)
        opening = OPENINGS.get(language.group(1) if language else "", "From the help centre:")
        if self.mode == "uncited":
            return f"{opening} {sentence}"
        return f"{opening} {sentence} [{best}]"

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            # OpenAI's API keeps connections alive; an HTTP/1.0 stand-in made the SDK open a
            # new connection for every call (~4 % of the action server's samples under load).
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # see http_standin: headers and body are two writes

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                    return
                if self.headers.get("Authorization", "") == "":
                    self._send(401, {"error": {"message": "missing key", "type": "invalid_request_error"}})
                    return
                standin.requests.append(body)
                mode = standin.mode
                if standin.latency:
                    time.sleep(standin.latency)
                if mode == "error500":
                    self._send(500, {"error": {"message": "boom", "type": "server_error"}})
                    return
                if mode == "error429":
                    self._send(
                        429,
                        {"error": {"message": "rate limited", "type": "rate_limit_error"}},
                        {"Retry-After": "0"},
                    )
                    return
                if mode == "slow":
                    time.sleep(standin.slow_seconds)
                content = standin.reply_for(body)
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{len(standin.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "stand-in"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": content},
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

        return Handler


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the OpenAI stand-in until interrupted.")
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    server = OpenAIStandIn(latency=args.latency).start()
    print(server.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
