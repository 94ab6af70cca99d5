"""Full-stack load: many customers at once, end-to-end latency, the bot's own overhead.

    .venv-rasa/bin/python -m bench.channels                       # REST, 1/8/32/64 conversations
    .venv-rasa/bin/python -m bench.channels --concurrency 8 --turns 2 --latency 1.5 --redis

Starts the real stack (action server + `rasa run`, as `make run` does, with Rasa's SQLite
tracker store or, with `--redis`, the scale-out configuration on a throwaway Redis) and
the OpenAI stand-in answering after a fixed latency (default 1.5 s, the model a customer
would wait for). Each conversation sends its turns one after another, waiting for the
reply like a person; the conversations run concurrently. Every turn is a help-centre
question, so every turn costs exactly one model call: the bot's overhead is end-to-end
latency minus the stand-in's latency. Reports per channel and concurrency: acknowledgement
and end-to-end p50/p99, overhead p50/p99, answered messages per second, errors,
duplicate replies, and the peak memory (VmHWM) of every server process.

Channels are drivers (`Driver` below). REST is the only one today: its acknowledgement is
the reply itself. The Slack, Telegram and SMS drivers will post signed webhooks to our
connectors and wait for the reply at the platform stand-in; the same drivers pointed at
Rasa's built-in `slack`, `telegram` and `twilio` channels (a second credentials file) give
the baseline. See `TODO(connectors)` below. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.stack import Stack, free_port, ingest, train_model  # noqa: E402
from tests.standins.openai_server import OpenAIStandIn  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TARGETS = {
    "ack_p99_ms": 100,
    "overhead_p50_ms_at_32": 100,
    "overhead_p99_ms_at_32": 400,
    "min_msgs_per_s": 30,
}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def questions() -> list[str]:
    data = yaml.safe_load((ROOT / "knowledge" / "eval" / "questions.yml").read_text(encoding="utf-8"))
    return [item["q"] for item in data["questions"] if item.get("article")]


@dataclass
class Turn:
    conversation: str
    ack_ms: float
    e2e_ms: float
    replies: int
    error: str = ""
    duplicate: bool = False
    model_used: bool = False  # answered by the model: one model call inside e2e_ms


class Driver(Protocol):
    """One way of reaching the bot. `credentials` is this channel's credentials.yml entry."""

    name: str
    credentials: dict

    async def send(self, client: httpx.AsyncClient, stack: Stack, conversation: str, text: str) -> Turn: ...


class RestDriver:
    name = "rest"
    credentials: dict = {"rest": None}

    async def send(self, client: httpx.AsyncClient, stack: Stack, conversation: str, text: str) -> Turn:
        started = time.perf_counter()
        try:
            response = await client.post(
                f"{stack.rasa_url}/webhooks/rest/webhook", json={"sender": conversation, "message": text}
            )
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            replies = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return Turn(conversation, elapsed, elapsed, 0, error=type(exc).__name__)
        texts = [r.get("text") for r in replies if r.get("text")]
        methods = [r["custom"].get("method") for r in replies if isinstance(r.get("custom"), dict)]
        error = "" if texts else "empty reply"
        # A duplicate: the same answer text delivered twice for one message.
        duplicate = len(texts) != len(set(texts))
        return Turn(
            conversation,
            elapsed,
            elapsed,
            len(replies),
            error=error,
            duplicate=duplicate,
            model_used="llm" in methods,
        )


# TODO(connectors): SlackDriver / TelegramDriver / SmsDriver. Each starts its platform
# stand-in (tests/standins), signs the webhook the platform's way, measures `ack_ms` as the
# webhook's HTTP response time and `e2e_ms` as the time until the stand-in receives the
# reply for `conversation` (an asyncio.Event per conversation), and flags a duplicate when a
# second reply arrives for the same message. `credentials` points at our connector; a
# `baseline=True` variant points at Rasa's built-in channel (subclassed here, in bench/,
# only to aim its platform client at the stand-in). DRIVERS then maps "slack",
# "slack-builtin", ... to them.
DRIVERS: dict[str, type] = {"rest": RestDriver}


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (Sanic spawns worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """User + system CPU of each server's process tree, for CPU time per message."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for name, proc in stack.processes.items():
        total = 0
        for pid in process_tree(proc.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        out[name] = total / tick
    return out


def memory_report(stack: Stack) -> dict[str, float]:
    report: dict[str, float] = {}
    for name, proc in stack.processes.items():
        for i, pid in enumerate(process_tree(proc.pid)):
            peak = peak_rss_mb(pid)
            if peak > 20:  # skip tiny helpers (multiprocessing's resource tracker)
                report[f"{name}" if i == 0 else f"{name}-child{i}"] = round(peak)
    return report


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def run_level(
    driver, stack: Stack, model: OpenAIStandIn, level: int, turns: int, pool: list[str]
) -> dict:
    run_id = secrets.token_hex(3)
    limits = httpx.Limits(max_connections=level + 8, max_keepalive_connections=level + 8)
    before = len(model.requests)
    async with httpx.AsyncClient(timeout=180, limits=limits) as client:

        async def conversation(i: int) -> list[Turn]:
            sender = f"bench-{run_id}-{level}-{i}"
            out = []
            for t in range(turns):
                question = pool[(i * turns + t) % len(pool)]
                out.append(await driver.send(client, stack, sender, question))
            return out

        cpu_before = cpu_seconds(stack)
        started = time.perf_counter()
        results = await asyncio.gather(*(conversation(i) for i in range(level)))
        wall = time.perf_counter() - started
        cpu_after = cpu_seconds(stack)
    done = [t for conv in results for t in conv]
    ok = [t for t in done if not t.error]
    latency_ms = model.latency * 1000
    # Only turns answered by the model contain exactly one model call to subtract; the
    # others ("I don't know", greetings) made none.
    overhead = [t.e2e_ms - latency_ms for t in ok if t.model_used]
    row = {
        "channel": driver.name,
        "concurrency": level,
        "messages": len(done),
        "answered": len(ok),
        "errors": len(done) - len(ok),
        "error_kinds": sorted({t.error for t in done if t.error}),
        "duplicates": sum(t.duplicate for t in done),
        "model_answers": sum(t.model_used for t in ok),
        "model_calls": len(model.requests) - before,
        "ack_p50_ms": round(pct([t.ack_ms for t in done], 50), 1),
        "ack_p99_ms": round(pct([t.ack_ms for t in done], 99), 1),
        "e2e_p50_ms": round(pct([t.e2e_ms for t in ok], 50), 1),
        "e2e_p99_ms": round(pct([t.e2e_ms for t in ok], 99), 1),
        "overhead_p50_ms": round(pct(overhead, 50), 1),
        "overhead_p99_ms": round(pct(overhead, 99), 1),
        "msgs_per_s": round(len(ok) / wall, 2),
        "wall_s": round(wall, 1),
        # Where the time goes: CPU each server spent per message at this load.
        "cpu_ms_per_msg": {
            name: round((cpu_after[name] - cpu_before.get(name, 0)) * 1000 / max(1, len(done)))
            for name in cpu_after
        },
    }
    return row


def start_stack(args, model: OpenAIStandIn, workdir: Path, drivers: list) -> tuple[Stack, object]:
    kb_uri = os.environ.get("KB_URI") or str(ROOT / ".data" / "kb")
    say(f"==> knowledge base at {kb_uri} (ingesting changed articles)")
    ingest(ROOT / "knowledge" / "articles", kb_uri, quiet=True)
    say("==> Rasa model (training only if bot/ changed)")
    model_path = train_model(quiet=True)
    credentials = workdir / "credentials.yml"
    merged: dict = {}
    for driver in drivers:
        merged.update(driver.credentials)
    credentials.write_text(yaml.safe_dump(merged), encoding="utf-8")
    env = {
        "KB_URI": kb_uri,
        "TRACKER_DB": str(workdir / "tracker.db"),
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_MODEL": "stand-in-model",
        "OPENAI_TIMEOUT": "30",
        "OPENAI_TOTAL_TIMEOUT": "60",
        "ACTION_TIMEOUT": "120",
    }
    redis = None
    endpoints = ROOT / "endpoints.yml"
    if args.redis:
        from scripts.redis_server import RedisServer

        redis = RedisServer().start()
        env.update(redis.env())
        endpoints = ROOT / "endpoints.redis.yml"
    stack = Stack(
        rasa_port=free_port(),
        action_port=free_port(),
        model=model_path,
        credentials=credentials,
        endpoints=endpoints,
        env=env,
        log_dir=workdir / "logs",
        interface="127.0.0.1",
    )
    say(f"==> starting the action server and Rasa (logs in {workdir / 'logs'})")
    stack.start_actions()
    stack.start_rasa()
    return stack, redis


def wait_until_answering(stack: Stack, timeout: float = 180) -> None:
    """The action server loads its embedding model in the background after start-up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{stack.action_url}/health/ready", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError("the action server did not become ready")


def markdown(rows: list[dict], memory: dict[str, float], latency: float) -> str:
    lines = [
        f"Stand-in model latency {latency:.1f} s. Overhead = end-to-end minus that latency.",
        "",
        "| channel | conversations | messages | ack p50 / p99 | end-to-end p50 / p99 | overhead p50 / p99 "
        "| answered/s | errors | duplicates | CPU per message |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['channel']} | {r['concurrency']} | {r['messages']} "
            f"| {r['ack_p50_ms']:.0f} / {r['ack_p99_ms']:.0f} ms "
            f"| {r['e2e_p50_ms']:.0f} / {r['e2e_p99_ms']:.0f} ms "
            f"| {r['overhead_p50_ms']:.0f} / {r['overhead_p99_ms']:.0f} ms | {r['msgs_per_s']} "
            f"| {r['errors']} | {r['duplicates']} "
            f"| {', '.join(f'{k} {v} ms' for k, v in r['cpu_ms_per_msg'].items())} |"
        )
    lines += ["", "Peak memory (VmHWM): " + ", ".join(f"{k} {v:.0f} MB" for k, v in memory.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Full-stack channel benchmark (see module docstring).")
    parser.add_argument("--channels", nargs="+", default=["rest"], choices=sorted(DRIVERS))
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--turns", type=int, default=3, help="messages per conversation")
    parser.add_argument("--latency", type=float, default=1.5, help="stand-in model latency, seconds")
    parser.add_argument("--redis", action="store_true", help="Rasa's Redis tracker + lock store")
    parser.add_argument("--tag", default="", help="suffix for the results file, e.g. 'before'")
    args = parser.parse_args(argv)

    model = OpenAIStandIn(latency=args.latency).start()
    workdir = Path(tempfile.mkdtemp(prefix="bench-channels-"))
    drivers = [DRIVERS[name]() for name in args.channels]
    stack, redis = start_stack(args, model, workdir, drivers)
    rows: list[dict] = []
    try:
        wait_until_answering(stack)
        pool = questions()
        say("==> warm-up turn")
        asyncio.run(run_level(drivers[0], stack, model, 1, 1, pool))
        for driver in drivers:
            for level in args.concurrency:
                say(f"==> {driver.name}: {level} concurrent conversations x {args.turns} turns")
                row = asyncio.run(run_level(driver, stack, model, level, args.turns, pool))
                say("    " + json.dumps(row))
                rows.append(row)
        memory = memory_report(stack)
    finally:
        stack.stop()
        if redis is not None:
            redis.stop()
        model.stop()
    store = "Redis tracker + lock store" if args.redis else "SQLite tracker store"
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {store}"
    print(f"\nChannel benchmark ({machine})\n\n{markdown(rows, memory, args.latency)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "machine": machine,
        "latency_s": args.latency,
        "turns": args.turns,
        "rows": rows,
        "peak_memory_mb": memory,
        "targets": TARGETS,
    }
    name = f"channels-{args.tag}.json" if args.tag else "channels.json"
    (RESULTS / name).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
