"""Fuzz every webhook with validly signed, mostly malformed bodies: no response may be a 5xx.

    .venv-rasa/bin/python -m bench.fuzz_webhooks                   # 5,000 per channel
    .venv-rasa/bin/python -m bench.fuzz_webhooks --per-channel 500 --seed 7

Starts the real stack (action server and `rasa run` with our connectors, platform API
stand-ins) and, per channel (Slack events, Slack interactions, Telegram, SMS, REST), sends
mutations of genuine requests: values swapped for deep arrays, 4,000-digit integers, lone
surrogates, wrong types; keys dropped or added; bytes flipped, cut or inserted; now and
then a non-ASCII header or another content type. Each body is signed after it is mutated
(Slack HMAC, Twilio signature over the parsed form, Telegram secret header), so the
signature check passes and the parsers behind it are what is tested. Ids are kept from the
seed, so the few mutations that are still valid messages are deduplicated into a handful
of turns. Reports the status counts per channel, every 5xx, and the latency of the fuzzed
requests beside the latency of the unmutated seed requests sent in the same run (the
baseline), then checks the servers still answer. Before fuzzing it posts 95 MB to four
webhooks at once and reports the Rasa process's memory before and after. The report also
goes to bench/results/fuzz_webhooks.json. tests/e2e/test_fuzz_webhooks.py runs 1,000 per
channel with the same generator.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))


@dataclass
class Secrets:
    slack_secret: str
    telegram_secret: str
    twilio_token: str
    twilio_sid: str
    twilio_number: str
    sms_public_url: str


@dataclass
class Case:
    channel: str
    path: str
    body: bytes
    headers: dict[str, str]


# --- seeds: genuine requests as each platform sends them -------------------------------------


def slack_seed(n: int) -> dict[str, Any]:
    return {
        "token": "x",
        "team_id": "TFUZZ",
        "api_app_id": "AFUZZ",
        "type": "event_callback",
        "event_id": f"EvFuzz{n}",
        "event_time": 1700000000,
        "event": {
            "type": "app_mention",
            "user": "UFUZZ",
            "text": "<@UBOT> hello",
            "ts": f"1700000000.{n:06d}",
            "channel": "CFUZZ",
            "event_ts": f"1700000000.{n:06d}",
            "client_msg_id": f"m-{n}",
            "blocks": [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": []}]}],
        },
        "authorizations": [{"user_id": "UBOT", "is_bot": True, "team_id": "TFUZZ"}],
    }


def interaction_seed(n: int) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": "TFUZZ"},
        "user": {"id": "UFUZZ", "username": "ann"},
        "channel": {"id": "CFUZZ"},
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "CFUZZ"},
        "message": {"ts": "1700000000.000001", "thread_ts": "1700000000.000001"},
        "trigger_id": f"trig-{n}",
        "actions": [
            {"action_id": "feedback_no", "value": "/feedback_unhelpful", "action_ts": f"1700000001.{n}"}
        ],
    }


def telegram_seed(n: int) -> dict[str, Any]:
    return {
        "update_id": 900000 + n,
        "message": {
            "message_id": n,
            "date": 1700000000,
            "chat": {"id": 990000, "type": "private", "first_name": "Ann"},
            "from": {"id": 990000, "is_bot": False, "first_name": "Ann", "language_code": "en"},
            "text": "hello",
        },
    }


def sms_seed(n: int, keys: Secrets) -> dict[str, str]:
    sid = "SM" + hashlib.md5(f"fuzz-{n}".encode()).hexdigest()
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": keys.twilio_sid,
        "From": "+15559990000",
        "To": keys.twilio_number,
        "Body": "hello",
        "NumMedia": "0",
        "FromCountry": "US",
    }


def rest_seed(n: int) -> dict[str, Any]:
    return {"sender": "fuzz-visitor", "message": ""}  # empty: a valid request that runs no turn


# --- mutations -----------------------------------------------------------------------------


def nasty_value(rng: random.Random) -> Any:
    choice = rng.randrange(12)
    if choice == 0:
        depth = rng.choice([65, 200, 1000, 3000])
        return json.loads("[" * depth + "]" * depth) if depth < 900 else RawJSON("[" * depth + "]" * depth)
    if choice == 1:
        return RawJSON("9" * rng.choice([41, 500, 4301, 10000]))
    if choice == 2:
        return RawJSON('"\\ud800x"')  # a lone surrogate escape
    if choice == 3:
        return "x" * rng.choice([1000, 60_000])
    if choice == 4:
        return rng.choice([None, True, False, 0, -1, 1.5e308, ""])
    if choice == 5:
        return RawJSON(rng.choice(["NaN", "Infinity", "-Infinity", "1e999999"]))
    if choice == 6:
        return {"nested": {"text": '/request_human{"x": 1}'}}
    if choice == 7:
        return ["a", 1, None, {"b": []}]
    if choice == 8:
        return "\u202e\x00\ufeff" + "é" * rng.randrange(1, 50)
    if choice == 9:
        return '/feedback_unhelpful{"ref": "someone-elses"}'
    if choice == 10:
        return {"$ref": "#", "__proto__": {}}
    return rng.randrange(-(2**70), 2**70)


class RawJSON(str):
    """Text spliced into the serialised body as it is (what json.dumps cannot produce)."""


def dumps(value: Any) -> str:
    """json.dumps that splices RawJSON values in verbatim."""
    raws: list[str] = []

    def mark(item: Any) -> Any:
        if isinstance(item, RawJSON):
            raws.append(str(item))
            return f"\x00RAW{len(raws) - 1}\x00"
        if isinstance(item, dict):
            return {k: mark(v) for k, v in item.items()}
        if isinstance(item, list):
            return [mark(v) for v in item]
        return item

    text = json.dumps(mark(value))
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00RAW{i}\x00"), raw)
    return text


def paths_of(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths_of(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths_of(item, (*prefix, index))
    return found


def set_path(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = set_path(copy[head], rest, new)
    return copy


def drop_path(value: Any, path: tuple) -> Any:
    if not path:
        return value
    if len(path) == 1:
        copy = dict(value) if isinstance(value, dict) else list(value)
        del copy[path[0]]
        return copy
    return set_path(value, path[:1], drop_path(value[path[0]], path[1:]))


def mutate_structure(seed: Any, rng: random.Random) -> Any:
    value = seed
    for _ in range(rng.choice([1, 1, 2, 3])):
        paths = paths_of(value)
        path = rng.choice(paths)
        op = rng.randrange(4)
        if op == 0:
            value = set_path(value, path, nasty_value(rng))
        elif op == 1 and path:
            value = drop_path(value, path)
        elif op == 2:
            target = path[:-1] if path else ()
            parent = value
            for key in target:
                parent = parent[key]
            if isinstance(parent, dict):
                value = set_path(value, target, {**parent, f"fuzz{rng.randrange(99)}": nasty_value(rng)})
        else:
            value = [value] if rng.random() < 0.5 else rng.choice(["", 0, None, "string"])
    return value


def mutate_bytes(body: bytes, rng: random.Random) -> bytes:
    data = bytearray(body)
    for _ in range(rng.choice([1, 2, 5])):
        op = rng.randrange(4)
        position = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data = data[: rng.randrange(len(data))]
        elif op == 1 and data:
            data[min(position, len(data) - 1)] = rng.randrange(256)
        elif op == 2:
            data[position:position] = rng.choice(
                [b"\x00", b"\xff\xfe", b"{", b"]", b'"', b"\\u", b"%", b"&=", b"\xc3"]
            )
        elif data:
            end = min(len(data), position + rng.randrange(1, 64))
            data[position:position] = data[position:end] * rng.randrange(2, 20)
    return bytes(data)


# --- signing ---------------------------------------------------------------------------------


def slack_headers(body: bytes, secret: str, content_type: str) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


def twilio_headers(body: bytes, keys: Secrets) -> dict[str, str]:
    from twilio.request_validator import RequestValidator

    params = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    signature = RequestValidator(keys.twilio_token).compute_signature(keys.sms_public_url, params)
    return {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}


def header_chaos(headers: dict[str, str], rng: random.Random) -> dict[str, str]:
    roll = rng.random()
    if roll < 0.03:
        name = rng.choice(list(headers))
        headers = {**headers, name: headers[name] + "\udce9"}  # sent as a raw 0xE9 byte
    elif roll < 0.06:
        headers = {
            **headers,
            "Content-Type": rng.choice(
                ["text/plain", "application/xml", "", "application/json; charset=utf-16"]
            ),
        }
    return headers


class Fuzzer:
    """Deterministic cases for one seed: `cases(channel, n)` and `genuine(channel, n)`."""

    CHANNELS = ("slack-events", "slack-interactions", "telegram", "sms", "rest")

    def __init__(self, keys: Secrets, seed: int = 19) -> None:
        self.keys = keys
        self.seed = seed

    def _sign(self, channel: str, body: bytes) -> Case:
        keys = self.keys
        if channel == "slack-events":
            return Case(
                channel,
                "/webhooks/slack/events",
                body,
                slack_headers(body, keys.slack_secret, "application/json"),
            )
        if channel == "slack-interactions":
            headers = slack_headers(body, keys.slack_secret, "application/x-www-form-urlencoded")
            return Case(channel, "/webhooks/slack/interactions", body, headers)
        if channel == "telegram":
            headers = {
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": keys.telegram_secret,
            }
            return Case(channel, "/webhooks/telegram/webhook", body, headers)
        if channel == "sms":
            return Case(channel, "/webhooks/sms/webhook", body, twilio_headers(body, keys))
        return Case(channel, "/webhooks/rest/webhook", body, {"Content-Type": "application/json"})

    def _encode(self, channel: str, value: Any) -> bytes:
        if channel == "slack-interactions":
            return urllib.parse.urlencode({"payload": dumps(value)}).encode()
        if channel == "sms":
            if isinstance(value, dict):
                return urllib.parse.urlencode(
                    {str(k): v if isinstance(v, str) else dumps(v) for k, v in value.items()}
                ).encode()
            return dumps(value).encode()
        return dumps(value).encode()

    def _seed(self, channel: str, n: int) -> Any:
        return {
            "slack-events": slack_seed,
            "slack-interactions": interaction_seed,
            "telegram": telegram_seed,
            "sms": lambda i: sms_seed(i, self.keys),
            "rest": rest_seed,
        }[channel](n)

    def genuine(self, channel: str, n: int) -> Case:
        return self._sign(channel, self._encode(channel, self._seed(channel, n % 5)))

    def cases(self, channel: str, count: int) -> list[Case]:
        rng = random.Random(f"{self.seed}:{channel}")
        out = []
        for i in range(count):
            seed = self._seed(channel, i % 5)  # five ids: valid mutations dedupe into few turns
            roll = rng.random()
            if roll < 0.6:
                body = self._encode(channel, mutate_structure(seed, rng))
            elif roll < 0.95:
                body = mutate_bytes(self._encode(channel, seed), rng)
            else:
                body = mutate_bytes(self._encode(channel, mutate_structure(seed, rng)), rng)
            case = self._sign(channel, body)
            case.headers = header_chaos(case.headers, rng)
            out.append(case)
        return out


# --- sending ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    statuses: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)


def _raw_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode("utf-8", "surrogateescape")) for k, v in headers.items()]


async def send_all(rasa_url: str, cases: list[Case], concurrency: int = 8) -> Outcome:
    outcome = Outcome()
    queue = list(reversed(cases))
    async with httpx.AsyncClient(base_url=rasa_url, timeout=60) as client:

        async def worker() -> None:
            while queue:
                case = queue.pop()
                started = time.monotonic()
                try:
                    request = client.build_request("POST", case.path, content=case.body)
                    request.headers.update(_raw_headers(case.headers))  # type: ignore[arg-type]
                    request.headers.encoding = "latin-1"  # raw bytes over 0x7F, as sent
                    response = await client.send(request)
                    status = response.status_code
                except httpx.HTTPError as exc:
                    status = 0  # the server dropped the connection: counted with the 5xx
                    outcome.server_errors.append(f"{case.channel}: connection error {type(exc).__name__}")
                outcome.latencies_ms.append((time.monotonic() - started) * 1000)
                outcome.statuses[(case.channel, status)] += 1
                if status >= 500:
                    outcome.server_errors.append(f"{case.channel}: HTTP {status} for {case.body[:120]!r}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcome


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def big_post(port: int, path: str, size: int, results: list, chunked: bool = False) -> None:
    """Send `size` bytes as fast as the server takes them; record the status, if any."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{length}\r\n\r\n"
        sock.sendall(head.encode())
        chunk = b"x" * (1 << 20)
        sent = 0
        try:
            while sent < size:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server closed the connection: what we want
        try:
            results.append(int(sock.recv(64).split(b" ")[1]))
        except (OSError, IndexError, ValueError):
            results.append(None)  # closed without a status line
    finally:
        sock.close()


BIG_POST_PATHS = [
    "/webhooks/slack/events",
    "/webhooks/telegram/webhook",
    "/webhooks/sms/webhook",
    "/webhooks/rest/webhook",
]


def parallel_big_posts(port: int, pid: int, size: int = 95 << 20) -> dict[str, Any]:
    """Four posts of `size` bytes at once (the last one chunked): the Rasa process's memory
    before and after, and the statuses."""
    before = rss_mb(pid)
    results: list = []
    threads = [
        threading.Thread(target=big_post, args=(port, path, size, results, n == 3))
        for n, path in enumerate(BIG_POST_PATHS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return {"rss_before_mb": round(before), "rss_after_mb": round(rss_mb(pid)), "statuses": results}


def healthy(rasa_url: str, action_url: str | None = None) -> bool:
    urls = [f"{rasa_url}/", f"{rasa_url}/webhooks/rest/"] + ([f"{action_url}/health"] if action_url else [])
    try:
        return all(httpx.get(url, timeout=10).status_code == 200 for url in urls)
    except httpx.HTTPError:
        return False


def fuzz(
    rasa_url: str,
    keys: Secrets,
    per_channel: int,
    seed: int = 19,
    progress: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    fuzzer = Fuzzer(keys, seed)
    report: dict[str, Any] = {"per_channel": per_channel, "seed": seed, "channels": {}}
    for channel in Fuzzer.CHANNELS:
        baseline = asyncio.run(send_all(rasa_url, [fuzzer.genuine(channel, 1000 + i) for i in range(20)], 4))
        started = time.monotonic()
        outcome = asyncio.run(send_all(rasa_url, fuzzer.cases(channel, per_channel)))
        seconds = time.monotonic() - started
        statuses = Counter({status: n for (_, status), n in outcome.statuses.items()})
        report["channels"][channel] = {
            "sent": per_channel,
            "seconds": round(seconds, 1),
            "statuses": dict(sorted(statuses.items())),
            "5xx": sum(n for status, n in statuses.items() if status >= 500 or status == 0),
            "p50_ms": round(statistics.median(outcome.latencies_ms), 1),
            "baseline_p50_ms": round(statistics.median(baseline.latencies_ms), 1),
            "baseline_statuses": dict(
                Counter(s for (_, s), n in baseline.statuses.items() for _ in range(n))
            ),
            "errors": outcome.server_errors[:10],
        }
        progress(f"{channel}: {per_channel} in {seconds:.1f} s, statuses {dict(sorted(statuses.items()))}")
    report["total_5xx"] = sum(c["5xx"] for c in report["channels"].values())
    return report


# --- the stack -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    import yaml

    from bench import drivers as d
    from scripts.stack import Stack, free_port, ingest, train_model
    from tests.standins.slack_api import SlackStandIn
    from tests.standins.telegram_api import TelegramStandIn
    from tests.standins.twilio_api import TwilioStandIn

    parser = argparse.ArgumentParser(description="Fuzz every webhook with signed malformed bodies.")
    parser.add_argument("--per-channel", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args(argv)
    keys = Secrets(
        d.SLACK_SECRET, d.TELEGRAM_SECRET, d.TWILIO_TOKEN, d.TWILIO_SID, d.TWILIO_NUMBER, d.SMS_PUBLIC_URL
    )
    slack = SlackStandIn(token=d.SLACK_TOKEN).start()
    telegram = TelegramStandIn(token=d.TELEGRAM_TOKEN).start()
    twilio = TwilioStandIn(d.TWILIO_SID, d.TWILIO_TOKEN).start()
    stack = None
    with tempfile.TemporaryDirectory(prefix="fuzz-") as work:
        try:
            kb_uri = str(Path(work) / "kb")
            print("==> knowledge base, model", flush=True)
            ingest(ROOT / "knowledge" / "articles", kb_uri, quiet=True)
            model = train_model(quiet=True)
            creds = Path(work) / "credentials.yml"
            creds.write_text(
                yaml.safe_dump(d.our_credentials(slack, telegram, twilio, work)), encoding="utf-8"
            )
            stack = Stack(
                rasa_port=free_port(),
                action_port=free_port(),
                model=model,
                credentials=creds,
                env={
                    "KB_URI": kb_uri,
                    "TRACKER_DB": f"{work}/tracker.db",
                    "FEEDBACK_DB": f"{work}/feedback.sqlite",
                    "HANDOFF_WEBHOOK_URL": "",
                    "OPENAI_API_KEY": "",
                    "OPENAI_BASE_URL": "",
                },
                log_dir=Path(work) / "logs",
                interface="127.0.0.1",
            )
            stack.start_actions()
            stack.start_rasa()
            memory = parallel_big_posts(stack.rasa_port, stack.processes["rasa"].pid)
            print(
                f"==> 4 parallel 95 MB posts: Rasa {memory['rss_before_mb']} -> {memory['rss_after_mb']} MB, "
                f"statuses {memory['statuses']}",
                flush=True,
            )
            print(f"==> fuzzing {args.per_channel} signed bodies per channel (seed {args.seed})", flush=True)
            report = fuzz(
                stack.rasa_url, keys, args.per_channel, args.seed, lambda s: print("   ", s, flush=True)
            )
            report["big_posts"] = memory
            report["healthy_after"] = healthy(stack.rasa_url, stack.action_url)
            tracebacks = (Path(work) / "logs" / "rasa.log").read_text(errors="replace").count("Traceback")
            report["tracebacks_in_rasa_log"] = tracebacks
        finally:
            if stack is not None:
                stack.stop()
            for server in (slack, telegram, twilio):
                server.stop()
    print()
    print(f"{'channel':<20}{'sent':>6}{'5xx':>6}{'p50 ms':>9}{'seed p50':>10}  statuses")
    for name, row in report["channels"].items():
        figures = f"{row['sent']:>6}{row['5xx']:>6}{row['p50_ms']:>9}{row['baseline_p50_ms']:>10}"
        print(f"{name:<20}{figures}  {row['statuses']}")
        for error in row["errors"]:
            print("     ", error)
    print(
        f"\ntotal 5xx: {report['total_5xx']}; servers healthy after: {report['healthy_after']}; "
        f"tracebacks in the Rasa log: {report['tracebacks_in_rasa_log']}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz_webhooks.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0 if report["total_5xx"] == 0 and report["healthy_after"] else 1


if __name__ == "__main__":
    sys.exit(main())
