"""Full-stack load: many customers at once on Slack, Telegram and SMS, our connectors
against Rasa 3.6's built-in channels, end-to-end latency and the bot's own overhead.

    .venv-rasa/bin/python -m bench.channels            # everything, ~6 min on 2 cores
    .venv-rasa/bin/python -m bench.channels --channels slack --concurrency 8 32 --turns 2
    .venv-rasa/bin/python -m bench.channels --no-baseline --latency 0.5 --tag quick

Starts the real stack: the action server and `rasa run` with our connectors (as `make
run` does, SQLite tracker store, or `--redis` for the scale-out configuration), a second
`rasa run` with Rasa's built-in `slack`, `telegram` and `twilio` channels (a second
credentials file; bench/builtin_channels.py only points their platform clients at the
stand-ins) sharing the same action server, the Slack/Telegram/Twilio API stand-ins from
tests/standins, and the OpenAI stand-in answering after a fixed latency (default 1.5 s).

Drivers (bench/drivers.py) post signed webhooks (Slack v0 HMAC `event_callback` with a
unique event_id; Telegram with the secret-token header and a unique update_id; Twilio
form posts signed with twilio's RequestValidator over the configured public URL, unique
MessageSid) and take the reply where the platform would get it: at the stand-in API.
Each conversation sends its turns one after another, waiting for the reply like a
person; conversations run concurrently, their first messages spread evenly over
`--ramp` seconds (default: the model latency, as independent customers would arrive;
`--ramp 0` sends them all in the same instant, a burst that keeps the conversations in
lock-step waves). Every turn is a help-centre question, so a turn
the model answered cost exactly one model call: overhead = end-to-end minus the model
latency. Reports per channel and concurrency: acknowledgement and end-to-end p50/p99,
overhead p50/p99, answered messages per second, errors, duplicate replies, CPU per
message and the peak memory (VmHWM) of every server process; the load average next to
each row (other work on the machine makes numbers noisy). Not part of the test suite.
Profile a run with `--profile` (py-spy, if installed, samples each server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import drivers as d  # noqa: E402
from scripts.stack import Stack, free_port, ingest, train_model  # noqa: E402
from tests.standins.openai_server import OpenAIStandIn  # noqa: E402
from tests.standins.slack_api import SlackStandIn  # noqa: E402
from tests.standins.telegram_api import TelegramStandIn  # noqa: E402
from tests.standins.twilio_api import TwilioStandIn  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TARGETS = {
    "ack_p99_ms": 100,
    "overhead_p50_ms_at_32": 100,
    "overhead_p99_ms_at_32": 400,
    "min_msgs_per_s": 30,
}
CHANNELS = ["slack", "telegram", "sms", "rest"]
SMS_ACK_FIRST_NOTE = (
    "reply_within 0: acknowledges every webhook with empty TwiML at once and sends the answer "
    "through the Messages API (one extra API call), so ack and end-to-end are measured apart"
)
BASELINE = {"slack": "slack-builtin", "telegram": "telegram-builtin", "sms": "twilio-builtin"}
OUR_NOTES = {
    "sms": [
        "answers in the webhook's TwiML when the turn finishes within reply_within (4 s), "
        "else acknowledges empty and sends through the Messages API: ack = end-to-end here "
        "by design (Twilio waits 15 s), so the 100 ms ack target is not meaningful for it",
    ],
    "slack": ["adds and removes an :eyes: reaction around each turn (2 extra API calls)"],
    "telegram": ["sends a typing action before each turn (1 extra API call)"],
    "rest": ["Rasa's own REST channel: the reply is the HTTP response, so ack = end-to-end"],
}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def questions() -> list[str]:
    """Help-centre questions the articles answer. Not the contact-support ones: asking for
    a phone number or a person hands the conversation to the team, after which the bot
    rightly stays silent, and the next turn would count as an error."""
    data = yaml.safe_load((ROOT / "knowledge" / "eval" / "questions.yml").read_text(encoding="utf-8"))
    return [
        item["q"]
        for item in data["questions"]
        if item.get("article") and item["article"] not in ("contact-support",)
    ]


# --- process accounting ----------------------------------------------------------------


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


def cpu_seconds(processes: dict[str, subprocess.Popen]) -> dict[str, float]:
    """User + system CPU of each server's process tree, for CPU time per message."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for name, proc in processes.items():
        total = 0
        for pid in process_tree(proc.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        out[name] = total / tick
    out["bench"] = sum(os.times()[:2])  # this process: drivers and platform stand-ins
    return out


def machine_ticks() -> list[int]:
    """The whole machine's CPU time so far (the `cpu` line of /proc/stat), in ticks."""
    try:
        with open("/proc/stat") as stat:
            return [int(x) for x in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return []


def machine_split(before: list[int], after: list[int]) -> dict[str, int]:
    """Busy, idle and stolen shares of the machine's CPU over a level, in percent.

    On a virtual machine the hypervisor can take CPU from all of its guests ("steal"): the
    same code then runs measurably slower. Reporting it per level tells a slow run of a
    good change apart from a bad change.
    """
    if len(before) != 8 or len(after) != 8:
        return {}
    ticks = (a - b for a, b in zip(after, before, strict=True))
    user, nice, system, idle, iowait, irq, softirq, steal = ticks
    total = max(1, user + nice + system + idle + iowait + irq + softirq + steal)
    return {
        "busy": round(100 * (user + nice + system + irq + softirq) / total),
        "steal": round(100 * steal / total),
        "idle": round(100 * (idle + iowait) / total),
    }


def memory_report(processes: dict[str, subprocess.Popen]) -> dict[str, float]:
    report: dict[str, float] = {}
    for name, proc in processes.items():
        for i, pid in enumerate(process_tree(proc.pid)):
            peak = peak_rss_mb(pid)
            if peak > 20:  # skip tiny helpers (multiprocessing's resource tracker)
                report[f"{name}" if i == 0 else f"{name}-child{i}"] = round(peak)
    report["bench (drivers + stand-ins)"] = round(peak_rss_mb(os.getpid()))
    return report


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def r1(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 1)


# --- one load level --------------------------------------------------------------------


async def run_level(
    driver: Any,
    hubs: list[d.Replies],
    processes: dict[str, subprocess.Popen],
    model: OpenAIStandIn,
    level: int,
    turns: int,
    pool: list[str],
    grace: float,
    ramp: float = 0.0,
) -> dict:
    loop = asyncio.get_running_loop()
    for hub in hubs:
        hub.bind(loop)
    run_id = secrets.token_hex(3)
    limits = httpx.Limits(max_connections=level + 8, max_keepalive_connections=level + 8)
    before = len(model.requests)
    done: list[d.Turn] = []
    last: dict[str, d.Turn] = {}
    async with httpx.AsyncClient(timeout=driver.timeout, limits=limits) as client:

        async def conversation(i: int) -> None:
            who = driver.conversation(run_id, i)
            # Customers do not all press Enter in the same millisecond: with a ramp, the
            # conversations start evenly spread over `ramp` seconds (0 = one burst).
            await asyncio.sleep(ramp * i / level)
            prior = None
            for t in range(turns):
                question = pool[(i * turns + t) % len(pool)]
                prior = await driver.send(client, who, question, prior)
                done.append(prior)
            last[who] = prior

        async def progress(started: float) -> None:
            while True:
                await asyncio.sleep(10)
                say(f"    ... {len(done)}/{level * turns} turns, {time.monotonic() - started:.0f} s")

        cpu_before = cpu_seconds(processes)
        load_before = os.getloadavg()[0]
        ticks_before = machine_ticks()
        started = time.monotonic()
        ticker = asyncio.ensure_future(progress(started))
        try:
            await asyncio.gather(*(conversation(i) for i in range(level)))
        finally:
            ticker.cancel()
        wall = time.monotonic() - started
        cpu_after = cpu_seconds(processes)
        machine = machine_split(ticks_before, machine_ticks())
        # A late second answer to a conversation's last message still counts as a duplicate.
        await asyncio.sleep(grace)
        hub = getattr(driver, "replies", None)
        if hub is not None:
            for who, turn in last.items():
                turn.replies.extend(d.drain(hub.queue(who)))
    row = summarise(driver, done, wall, level, model, before, cpu_before, cpu_after, load_before)
    row["machine_cpu_pct"] = machine
    row["error_samples"] = [
        {
            "conversation": t.conversation,
            "error": t.error,
            "sent_s": round(t.sent_at - started, 2),
            "ack_ms": r1(t.ack_ms),
            "ack_status": t.ack_status,
            "reply_calls_seen": hub.seen.get(t.conversation, 0) if hub is not None else None,
            "turns_in_conversation": sum(1 for x in done if x.conversation == t.conversation),
        }
        for t in done
        if t.error
    ][:10]
    return row


STEADY_MIN_SECONDS = 5.0


def steady_rate(done: list[d.Turn], share: float = 0.9) -> tuple[float | None, float]:
    """Answered messages per second while (nearly) every conversation of the level talked.

    A level's wall time includes the ramp-up (conversations start over `--ramp` seconds)
    and the tail (the last conversations finishing alone), when fewer conversations are
    talking; with 3 turns each at 64 conversations that is about half the run, which held
    the whole-level rate at 29.0-29.2/s with overhead p50 at 31-38 ms. Here only the
    time when at least `share` of the conversations were in flight (between their first
    message and their last reply) counts, with the answers that reached the platform API
    in it. Not all of them: some questions are answered without the model in
    milliseconds, so a conversation of those may finish while the others have barely
    started. Returns (rate, seconds counted); the rate is None when that is under
    `STEADY_MIN_SECONDS`: over a second or two, a burst of such quick answers reads as
    more than the level can sustain (23/s at 32 conversations, whose ceiling is 18.8).
    """
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    replies: list[float] = []
    for t in done:
        first[t.conversation] = min(first.get(t.conversation, math.inf), t.sent_at)
        if t.e2e_ms is None:
            continue
        at = t.sent_at + t.e2e_ms / 1000
        last[t.conversation] = max(last.get(t.conversation, -math.inf), at)
        if t.answered:
            replies.append(at)
    if not first or len(last) < len(first):
        return None, 0.0
    needed = math.ceil(share * len(first))
    changes = sorted([(at, 1) for at in first.values()] + [(at, -1) for at in last.values()])
    spans: list[tuple[float, float]] = []
    active, opened = 0, None
    for at, step in changes:
        active += step
        if active >= needed and opened is None:
            opened = at
        elif active < needed and opened is not None:
            spans.append((opened, at))
            opened = None
    seconds = sum(b - a for a, b in spans)
    if seconds < STEADY_MIN_SECONDS:
        return None, round(seconds, 1)
    count = sum(1 for at in replies if any(a <= at <= b for a, b in spans))
    return round(count / seconds, 2), round(seconds, 1)


def summarise(driver, done, wall, level, model, before, cpu_before, cpu_after, load_before) -> dict:
    answered = [t for t in done if t.answered]
    reached = [t for t in done if t.e2e_ms is not None]  # a reply reached the platform API
    latency_ms = model.latency * 1000
    # Only turns the model answered contain exactly one model call to subtract; the
    # others ("I don't know", greetings) made none.
    overhead = [t.e2e_ms - latency_ms for t in reached if t.model_used]
    acks = [t.ack_ms for t in done if not math.isnan(t.ack_ms)]
    steady = steady_rate(done)
    errors: dict[str, int] = {}
    for t in done:
        if t.error:
            errors[t.error] = errors.get(t.error, 0) + 1
    return {
        "channel": driver.name,
        "builtin": driver.builtin,
        "concurrency": level,
        "messages": len(done),
        "answered": len(answered),
        "errors": len(done) - len(answered),
        "error_kinds": errors,
        "webhook_non_2xx": sum(1 for t in done if t.ack_status and not 200 <= t.ack_status < 300),
        "duplicates": sum(t.duplicates for t in done),
        "reply_calls_per_turn": round(sum(len(t.replies) for t in done) / max(1, len(done)), 2),
        "model_answers": sum(t.model_used for t in reached),
        "model_calls": len(model.requests) - before,
        "ack_p50_ms": r1(pct(acks, 50)),
        "ack_p99_ms": r1(pct(acks, 99)),
        "e2e_p50_ms": r1(pct([t.e2e_ms for t in reached], 50)),
        "e2e_p99_ms": r1(pct([t.e2e_ms for t in reached], 99)),
        "e2e_turns": len(reached),
        "overhead_p50_ms": r1(pct(overhead, 50)),
        "overhead_p99_ms": r1(pct(overhead, 99)),
        "msgs_per_s": round(len(answered) / wall, 2),
        "steady_msgs_per_s": steady[0],
        "steady_window_s": steady[1],
        "wall_s": round(wall, 1),
        "load_1m": round((load_before + os.getloadavg()[0]) / 2, 2),
        # Where the time goes: CPU each server (and this process) spent per message.
        "cpu_ms_per_msg": {
            name: round((cpu_after[name] - cpu_before.get(name, 0)) * 1000 / max(1, len(done)))
            for name in cpu_after
        },
    }


# --- the stack -------------------------------------------------------------------------


def start_servers(
    args, model: OpenAIStandIn, standins: dict, workdir: Path
) -> tuple[Stack, Stack | None, Any]:
    kb_uri = os.environ.get("KB_URI") or str(ROOT / ".data" / "kb")
    if args.prepare:
        say(f"==> knowledge base at {kb_uri} (ingesting changed articles)")
        ingest(ROOT / "knowledge" / "articles", kb_uri, quiet=True)
        say("==> Rasa model (training only if bot/ changed)")
        model_path = train_model(quiet=True)
    else:  # repeated runs (bench.patch_gains): the previous run prepared both
        model_path = ROOT / ".data" / "models" / "nimbus.tar.gz"
    env = {
        "KB_URI": kb_uri,
        "TRACKER_DB": str(workdir / "tracker.db"),
        "FEEDBACK_DB": str(workdir / "feedback.sqlite"),
        "HANDOFF_WEBHOOK_URL": "",
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_MODEL": "stand-in-model",
        "OPENAI_TIMEOUT": "30",
        "OPENAI_TOTAL_TIMEOUT": "60",
        "ACTION_TIMEOUT": "120",
        # Two unanswered questions in a row hand the conversation to a person, who answers
        # it from then on: a load test keeps every conversation with the bot.
        "HANDOFF_AFTER_MISSES": "0",
    }
    redis = None
    endpoints = ROOT / "endpoints.yml"
    if args.redis:
        from scripts.redis_server import RedisServer

        redis = RedisServer().start()
        env.update(redis.env())
        endpoints = ROOT / "endpoints.redis.yml"
    ours = workdir / "credentials.yml"
    ours.write_text(
        yaml.safe_dump(
            d.our_credentials(
                standins["slack"],
                standins["telegram"],
                standins["twilio"],
                str(workdir),
                args.sms_reply_within,
            )
        ),
        encoding="utf-8",
    )
    stack = Stack(
        rasa_port=free_port(),
        action_port=free_port(),
        model=model_path,
        credentials=ours,
        endpoints=endpoints,
        env=env,
        log_dir=workdir / "logs",
        interface="127.0.0.1",
    )
    say(f"==> starting the action server and Rasa with our connectors (logs in {workdir / 'logs'})")
    stack.start_actions()
    stack.start_rasa()
    baseline = None
    if args.baseline:
        port = free_port()
        builtin = workdir / "credentials.builtin.yml"
        builtin.write_text(
            yaml.safe_dump(
                d.builtin_credentials(
                    standins["slack"], standins["telegram"], standins["twilio"], f"http://127.0.0.1:{port}"
                )
            ),
            encoding="utf-8",
        )
        baseline = Stack(
            rasa_port=port,
            action_port=stack.action_port,  # the same action server
            model=model_path,
            credentials=builtin,
            endpoints=endpoints,
            env={**env, "TRACKER_DB": str(workdir / "tracker.builtin.db")},
            log_dir=workdir / "logs-builtin",
            interface="127.0.0.1",
        )
        say("==> starting a second Rasa with the built-in slack/telegram/twilio channels")
        baseline.start_rasa()
    return stack, baseline, redis


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


def make_drivers(args, stack: Stack, baseline: Stack | None, hubs: dict[str, d.Replies]) -> list:
    timeout = args.latency + args.timeout
    out: list = []
    for name in args.channels:
        if name == "rest":
            out.append(d.RestDriver(stack.rasa_url, timeout))
            continue
        kind = {"slack": d.SlackDriver, "telegram": d.TelegramDriver, "sms": d.SmsDriver}[name]
        hub = hubs[{"sms": "twilio"}.get(name, name)]
        out.append(kind(hub, stack.rasa_url, timeout, args.settle))
        if baseline is not None:
            out.append(kind(hub, baseline.rasa_url, timeout, args.settle, builtin=True))
    return out


# --- profiling -------------------------------------------------------------------------


def py_spy() -> str | None:
    for candidate in (
        shutil.which("py-spy"),
        ROOT / ".venv-actions" / "bin" / "py-spy",
        ROOT / ".venv-rasa" / "bin" / "py-spy",
    ):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def start_profiles(processes: dict[str, subprocess.Popen], label: str, out: Path) -> list:
    """Sample each server until `stop_profiles` (py-spy writes its file on SIGINT)."""
    tool = py_spy()
    if tool is None:
        say("    (py-spy not found: no profile; CPU per message is still reported)")
        return []
    running = []
    for name, proc in processes.items():
        target = out / f"{label}-{name}.txt"
        cmd = [
            tool,
            "record",
            "--pid",
            str(proc.pid),
            "--rate",
            "50",
            "--format",
            "raw",
            "--output",
            str(target),
            "--nonblocking",
        ]
        running.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return running


_PLUMBING = (
    "runpy",
    "sanic/",
    "rasa/__main__",
    "rasa/api.py",
    "rasa/cli/",
    "rasa/core/run.py",
    "threading.py",
    "concurrent/futures",
    "actions/server.py",
)


def profile_summary(path: Path, top: int = 20) -> list[str]:
    """The functions most often on the stack (inclusive share of busy samples)."""
    if not path.exists():
        return []
    total, counts = 0, {}
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        for frame in set(stack.split(";")):
            counts[frame] = counts.get(frame, 0) + int(n)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    out = [
        f"{n * 100 / total:5.1f}% {frame[:140]}"
        for frame, n in ranked
        if not any(k in frame for k in _PLUMBING)
    ]
    return [f"{path.name}: {total} samples at 50 Hz"] + out[:top]


def stop_profiles(running: list) -> None:
    for proc in running:
        proc.send_signal(signal.SIGINT)
    for proc in running:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- output ----------------------------------------------------------------------------


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def markdown(
    rows: list[dict], memory: dict[str, float], latency: float, ramp: float = 0.0, settle: float = 0.2
) -> str:
    start = f"starting evenly over {ramp:.1f} s" if ramp else "all starting at once"
    levels = sorted({r["concurrency"] for r in rows if r["concurrency"] > 1})
    ceiling = ", ".join(f"{n / (latency + settle):.1f}/s at {n}" for n in levels) or "-"
    lines = [
        f"Conversations {start}, turns back to back. "
        f"Stand-in model latency {latency:.1f} s. Overhead = end-to-end minus that latency "
        "(turns the model answered). End-to-end = webhook on the wire -> first reply call at the "
        "platform API stand-in (accepted or not). Answered/s over the whole level, then while at "
        "least 90 % of its conversations were in flight; each conversation sends its next message "
        f"{settle:.1f} s after a reply: n conversations waiting for the model every time would "
        f"reach at most n / {latency + settle:.1f} s ({ceiling}); some questions are answered "
        "without it.",
        "",
        "| channel | conv. | msgs | ack p50 / p99 ms | e2e p50 / p99 ms | overhead p50 / p99 ms "
        "| answered/s (level / in flight) | errors | dup. | load 1m "
        "| machine busy / stolen / idle % | CPU ms/msg |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        kinds = ", ".join(f"{k} x{v}" for k, v in r["error_kinds"].items())
        non2xx = f"; webhook non-2xx x{r['webhook_non_2xx']}" if r["webhook_non_2xx"] else ""
        lines.append(
            f"| {r['channel']} | {r['concurrency']} | {r['messages']} "
            f"| {fmt(r['ack_p50_ms'])} / {fmt(r['ack_p99_ms'])} "
            f"| {fmt(r['e2e_p50_ms'])} / {fmt(r['e2e_p99_ms'])} "
            f"| {fmt(r['overhead_p50_ms'])} / {fmt(r['overhead_p99_ms'])} "
            f"| {r['msgs_per_s']} / {r.get('steady_msgs_per_s') or '-'} "
            f"| {r['errors']}{f' ({kinds})' if kinds else ''}{non2xx} | {r['duplicates']} | {r['load_1m']} "
            f"| {' / '.join(str(v) for v in r.get('machine_cpu_pct', {}).values()) or '-'} "
            f"| {', '.join(f'{k} {v}' for k, v in r['cpu_ms_per_msg'].items())} |"
        )
    lines += ["", "Peak memory (VmHWM): " + ", ".join(f"{k} {v:.0f} MB" for k, v in memory.items())]
    return "\n".join(lines)


def verdict(rows: list[dict], sms_twiml: bool = True) -> list[str]:
    out = []
    for r in rows:
        if r["builtin"]:
            continue
        miss = []
        if r["ack_p99_ms"] is not None and r["ack_p99_ms"] >= TARGETS["ack_p99_ms"]:
            why = ""
            if sms_twiml and r["channel"] == "sms":
                why = " (the TwiML answer is the acknowledgement; --sms-reply-within 0 acknowledges first)"
            miss.append(f"ack p99 {r['ack_p99_ms']:.0f} ms{why}")
        if r["concurrency"] == 32:
            if (r["overhead_p50_ms"] or 0) >= TARGETS["overhead_p50_ms_at_32"]:
                miss.append(f"overhead p50 {r['overhead_p50_ms']:.0f} ms")
            if (r["overhead_p99_ms"] or 0) >= TARGETS["overhead_p99_ms_at_32"]:
                miss.append(f"overhead p99 {r['overhead_p99_ms']:.0f} ms")
        if r["errors"] or r["duplicates"]:
            miss.append(f"{r['errors']} errors, {r['duplicates']} duplicates")
        if miss:
            out.append(f"- {r['channel']} @ {r['concurrency']}: " + "; ".join(miss))
    # Throughput is a capacity: judged while a level's conversations were (nearly) all in flight
    # (the whole-level rate also counts its ramp-up and tail; see `steady_rate`).
    rates: dict[str, list[float]] = {}
    for r in rows:
        if not r["builtin"]:
            judged = rates.setdefault(r["channel"], [])
            if r.get("steady_msgs_per_s") is not None:
                judged.append(r["steady_msgs_per_s"])
    for channel, judged in rates.items():
        rate = max(judged, default=None)
        if rate is None:
            out.append(
                f"- {channel}: throughput not judged: no level had {STEADY_MIN_SECONDS:.0f} s with 90 % "
                "of its conversations in flight (more --turns, e.g. --concurrency 64 --turns 10)"
            )
        elif rate < TARGETS["min_msgs_per_s"]:
            out.append(
                f"- {channel}: best throughput {rate} answered msgs/s with 90 % of the conversations "
                f"in flight (target {TARGETS['min_msgs_per_s']})"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Full-stack channel benchmark (see module docstring).")
    parser.add_argument("--channels", nargs="+", default=["slack", "telegram", "sms"], choices=CHANNELS)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument(
        "--turns",
        type=int,
        default=6,
        help="messages per conversation (6: long enough for 5 s with 90 %% of 64 conversations in flight)",
    )
    parser.add_argument("--latency", type=float, default=1.5, help="stand-in model latency, seconds")
    parser.add_argument(
        "--baseline",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also drive Rasa's built-in slack/telegram/twilio channels",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=None,
        help="seconds over which a level's conversations start, evenly spread "
        "(default: the model latency, like customers arriving independently; 0 = all at once)",
    )
    parser.add_argument("--settle", type=float, default=0.2, help="quiet time that ends a multi-part reply")
    parser.add_argument(
        "--timeout", type=float, default=30, help="seconds to wait for a reply beyond the latency"
    )
    parser.add_argument("--redis", action="store_true", help="Rasa's Redis tracker + lock store")
    parser.add_argument(
        "--sms-reply-within",
        type=float,
        default=None,
        metavar="SECONDS",
        help="our SMS channel's reply_within (default: as shipped, 4 s of TwiML replies; "
        "0 = acknowledge at once, answer through the Messages API)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="py-spy every server during the N-conversation level (raw stacks in bench/results/)",
    )
    parser.add_argument(
        "--prepare",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="ingest changed articles and train if bot/ changed first (--no-prepare: as last run)",
    )
    parser.add_argument("--tag", default="", help="suffix for the results file, e.g. 'before'")
    args = parser.parse_args(argv)
    if args.ramp is None:
        args.ramp = args.latency

    model = OpenAIStandIn(latency=args.latency).start()
    standins = {
        "slack": SlackStandIn(token=d.SLACK_TOKEN).start(),
        "telegram": TelegramStandIn(token=d.TELEGRAM_TOKEN).start(),
        "twilio": TwilioStandIn(d.TWILIO_SID, d.TWILIO_TOKEN).start(),
    }
    hubs = {
        "slack": d.slack_replies(standins["slack"]),
        "telegram": d.telegram_replies(standins["telegram"]),
        "twilio": d.twilio_replies(standins["twilio"]),
    }
    workdir = Path(tempfile.mkdtemp(prefix="bench-channels-"))
    rows: list[dict] = []
    stack = baseline = redis = None
    processes: dict[str, subprocess.Popen] = {}
    started = time.monotonic()
    try:
        stack, baseline, redis = start_servers(args, model, standins, workdir)
        processes = {"actions": stack.processes["actions"], "rasa": stack.processes["rasa"]}
        if baseline is not None:
            processes["rasa-builtin"] = baseline.processes["rasa"]
        wait_until_answering(stack)
        pool = questions()
        all_drivers = make_drivers(args, stack, baseline, hubs)
        for driver in all_drivers:
            say(f"==> warm-up: {driver.name}")
            asyncio.run(run_level(driver, list(hubs.values()), processes, model, 1, 1, pool, 0))
        for driver in all_drivers:
            for level in args.concurrency:
                say(f"==> {driver.name}: {level} concurrent conversations x {args.turns} turns")
                profiles = []
                if args.profile == level:
                    RESULTS.mkdir(parents=True, exist_ok=True)
                    label = f"profile-{args.tag or 'run'}-{driver.name}-{level}"
                    profiles = start_profiles(processes, label, RESULTS)
                row = asyncio.run(
                    run_level(
                        driver, list(hubs.values()), processes, model, level, args.turns, pool, 1.0, args.ramp
                    )
                )
                stop_profiles(profiles)
                if profiles:
                    for name in processes:
                        for line in profile_summary(RESULTS / f"{label}-{name}.txt"):
                            say("    " + line)
                say(
                    "    "
                    + json.dumps(
                        {
                            k: row[k]
                            for k in (
                                "ack_p99_ms",
                                "e2e_p50_ms",
                                "e2e_p99_ms",
                                "overhead_p50_ms",
                                "overhead_p99_ms",
                                "msgs_per_s",
                                "steady_msgs_per_s",
                                "errors",
                                "duplicates",
                                "load_1m",
                                "machine_cpu_pct",
                            )
                        }
                    )
                )
                rows.append(row)
        memory = memory_report(processes)
    finally:
        if baseline is not None:
            baseline.stop()
        if stack is not None:
            stack.stop()
        if redis is not None:
            redis.stop()
        for server in standins.values():
            server.stop()
        model.stop()
    store = "Redis tracker + lock store" if args.redis else "SQLite tracker store"
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {store}"
    notes = {name: OUR_NOTES.get(name, []) for name in args.channels}
    if args.sms_reply_within == 0 and "sms" in notes:
        notes["sms"] = [SMS_ACK_FIRST_NOTE]
    if args.baseline:
        notes.update({BASELINE[n]: d.BUILTIN_NOTES[BASELINE[n]] for n in args.channels if n in BASELINE})
    missed = verdict(rows, sms_twiml=args.sms_reply_within != 0)
    print(f"\nChannel benchmark ({machine}), {time.monotonic() - started:.0f} s\n")
    print(markdown(rows, memory, args.latency, args.ramp, args.settle))
    print("\nTargets missed:\n" + ("\n".join(missed) if missed else "- none"))
    print("\nHow the channels differ:")
    for name, items in notes.items():
        for item in items:
            print(f"- {name}: {item}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "machine": machine,
        "command": "python -m bench.channels " + " ".join(argv if argv is not None else sys.argv[1:]),
        "latency_s": args.latency,
        "turns": args.turns,
        "settle_s": args.settle,
        "ramp_s": args.ramp,
        "rows": rows,
        "peak_memory_mb": memory,
        "targets": TARGETS,
        "targets_missed": missed,
        "notes": notes,
        "logs": str(workdir),
    }
    name = f"channels-{args.tag}.json" if args.tag else "channels.json"
    (RESULTS / name).write_text(json.dumps(out, indent=2), encoding="utf-8")
    say(f"==> results in {RESULTS / name}; server logs in {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
