"""Start the whole bot: ingest, train, then the action server, the Rasa server and (when
CONSOLE_TOKEN is set) the team console.

`make run` calls this, and the end-to-end tests import it, so what the tests start is
exactly what a user starts. It runs under the Rasa environment's Python but drives the
action environment only through its executables: the two never import each other.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RASA_BIN = ROOT / ".venv-rasa" / "bin"
ACTIONS_BIN = ROOT / ".venv-actions" / "bin"
DATA = ROOT / ".data"
_ENV_REF = re.compile(r"\$\{([^}]+)\}")


# Where each of our channels listens, for the start-up banner.
WEBHOOKS = {
    "connectors.slack.SlackInput": ("Slack", "slack/events"),
    "connectors.telegram.TelegramInput": ("Telegram", "telegram/webhook"),
    "connectors.sms.SmsInput": ("SMS", "sms/webhook"),
    "connectors.whatsapp.WhatsAppInput": ("WhatsApp", "whatsapp/webhook"),
}


class StackError(RuntimeError):
    """A problem the user can fix; printed as one sentence, never a traceback."""


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_dotenv(path: Path = ROOT / ".env") -> None:
    """Read KEY=VALUE lines into the environment without overriding what is already set."""
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip().strip('"').strip("'")
        if value:
            os.environ.setdefault(key.strip(), value)


def active_credentials(source: Path, env: dict[str, str]) -> tuple[dict, list[str]]:
    """Keep the channels whose `${VARS}` are all set; report the ones left out.

    A platform channel with no credentials is simply not started, so a fresh machine
    runs the REST channel alone instead of failing on Slack's missing token.
    """
    config = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    kept: dict = {}
    skipped: list[str] = []
    for channel, settings in config.items():
        names = _ENV_REF.findall(yaml.safe_dump(settings)) if settings else []
        missing = [n for n in names if not env.get(n, "").strip()]
        if missing:
            skipped.append(f"{channel} (set {', '.join(missing)})")
        else:
            kept[channel] = settings
    return kept, skipped


def train_model(out: Path = DATA / "models", quiet: bool = False) -> Path:
    """Train only if the training data changed: Rasa's fingerprint makes this a no-op otherwise."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(RASA_BIN / "rasa"),
        "train",
        "--data",
        str(ROOT / "bot" / "data"),
        "--config",
        str(ROOT / "bot" / "config.yml"),
        "--domain",
        str(ROOT / "bot" / "domain.yml"),
        "--out",
        str(out),
        "--fixed-model-name",
        "nimbus",
    ]
    result = subprocess.run(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
        text=True,
    )
    if result.returncode != 0:
        tail = (result.stdout or "")[-2000:] if quiet else ""
        raise StackError(f"training the Rasa model failed (exit {result.returncode}). {tail}")
    model = out / "nimbus.tar.gz"
    if not model.exists():
        raise StackError(f"training finished but no model at {model}")
    return model


def ingest(articles: Path, kb_uri: str, quiet: bool = False) -> None:
    env = {**os.environ, "KB_URI": kb_uri, "HF_HUB_OFFLINE": "1"}
    cmd = [str(ACTIONS_BIN / "python"), "-m", "knowledge.cli", "ingest", str(articles)]
    if quiet:
        cmd.append("--quiet")
    result = subprocess.run(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
        text=True,
    )
    if result.returncode != 0:
        raise StackError(
            f"ingesting {articles} failed (exit {result.returncode}). {(result.stdout or '')[-2000:]}"
        )


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None, name: str = "server") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StackError(f"the {name} exited during start-up (exit {proc.returncode}); see its log above")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.3)
    raise StackError(f"the {name} did not answer at {url} within {timeout:.0f} s")


@dataclass
class Stack:
    """The two servers of one running bot, with the settings they were started with."""

    rasa_port: int
    action_port: int
    model: Path
    credentials: Path
    endpoints: Path = ROOT / "endpoints.yml"
    env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    api_token: str = ""
    console_port: int = 0
    interface: str = field(default_factory=lambda: os.environ.get("RASA_INTERFACE", "0.0.0.0"))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    def _env(self) -> dict[str, str]:
        # Both servers read the same settings: the action server reaches the Rasa server's
        # Slack handoff route with its URL and API token (actions/handoff.py).
        started = {"RASA_URL": self.rasa_url}
        if self.api_token:
            started["RASA_API_TOKEN"] = self.api_token
        env = {**os.environ, **started, **self.env}
        env.setdefault("ACTION_SERVER_URL", f"{self.action_url}/webhook")
        env.setdefault("TRACKER_DB", str(DATA / "tracker.db"))
        env.setdefault("HF_HUB_OFFLINE", "1")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
        # Rasa 3.6's dependencies print pages of deprecation warnings at start-up.
        env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning,ignore::PendingDeprecationWarning")
        return env

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        out = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**self._env(), **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )
        self.processes[name] = proc
        return proc

    def start_actions(self, timeout: float = 120) -> None:
        proc = self._spawn(
            "actions",
            [
                str(ACTIONS_BIN / "python"),
                "-m",
                "actions.server",
                "--port",
                str(self.action_port),
                "--host",
                self.interface,
            ],
        )
        wait_http(f"{self.action_url}/health", timeout, proc, "action server")

    def start_console(self, timeout: float = 120) -> None:
        """The team console (actions/console): its own process, so no page slows an answer.

        Bound to loopback whatever RASA_INTERFACE says (CONSOLE_HOST to change that): it
        shows conversations, and belongs behind the team's own proxy if anywhere else.
        """
        env_host = self._env().get("CONSOLE_HOST", "127.0.0.1")
        proc = self._spawn(
            "console",
            [
                str(ACTIONS_BIN / "python"),
                "-m",
                "actions.console",
                "--port",
                str(self.console_port),
                "--host",
                env_host,
            ],
        )
        wait_http(f"{self.console_url}/health", timeout, proc, "console")

    def start_rasa(self, timeout: float = 180) -> None:
        # Plain `rasa run`: the apology, readiness route and patches come from the
        # `rasa_ext.server.NimbusServer` channel listed in the credentials file.
        cmd = [
            str(RASA_BIN / "rasa"),
            "run",
            "--model",
            str(self.model),
            "--credentials",
            str(self.credentials),
            "--endpoints",
            str(self.endpoints),
            "--port",
            str(self.rasa_port),
            "--interface",
            self.interface,
        ]
        if self.api_token:
            cmd += ["--enable-api", "--auth-token", self.api_token]
        # Rasa's matrices are small (one message's features, a few dozen intents); OpenBLAS's
        # extra threads gain nothing on them and spin after each product, taking the other
        # core from the action server: one parse cost 5.7 ms of CPU with them and 2.4 ms
        # without (`agent.parse_message` loop on the trained model).
        blas = {"OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
        proc = self._spawn("rasa", cmd, blas)
        wait_http(f"{self.rasa_url}/", timeout, proc, "Rasa server")

    def stop(self, name: str | None = None, timeout: float = 20) -> None:
        names = [name] if name else list(reversed(self.processes))
        for key in names:
            proc = self.processes.pop(key, None)
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def write_active_credentials(source: Path, target: Path) -> list[str]:
    kept, skipped = active_credentials(source, dict(os.environ))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(kept, sort_keys=False), encoding="utf-8")
    return skipped


def check_prerequisites(ports: dict[str, int]) -> None:
    for venv in (RASA_BIN, ACTIONS_BIN):
        if not (venv / "python").exists():
            raise StackError(f"{venv.parent.name} is missing: run `make install` first")
    for name, port in ports.items():
        if not port_free(port):
            raise StackError(
                f"port {port} ({name}) is already in use: stop what uses it or set {name}=<another port>"
            )


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start the support bot (action server + Rasa server).")
    parser.add_argument("--articles", default=str(ROOT / "knowledge" / "articles"))
    args = parser.parse_args(argv)
    load_dotenv()
    rasa_port = int(os.environ.get("RASA_PORT", "5005"))
    action_port = int(os.environ.get("ACTION_PORT", "5055"))
    console_port = int(os.environ.get("CONSOLE_PORT", "5056"))
    console = bool(os.environ.get("CONSOLE_TOKEN", "").strip())
    stack: Stack | None = None
    try:
        ports = {"RASA_PORT": rasa_port, "ACTION_PORT": action_port}
        if console:
            ports["CONSOLE_PORT"] = console_port
        check_prerequisites(ports)
        DATA.mkdir(exist_ok=True)
        print("==> Knowledge base: ingesting changed articles from", args.articles, flush=True)
        ingest(Path(args.articles), os.environ.get("KB_URI", str(DATA / "kb")))
        print("==> Rasa model: training if the training data changed", flush=True)
        model = train_model()
        credentials = DATA / "credentials.active.yml"
        skipped = write_active_credentials(ROOT / "credentials.yml", credentials)
        stack = Stack(
            rasa_port,
            action_port,
            model,
            credentials,
            api_token=os.environ.get("RASA_API_TOKEN", ""),
            console_port=console_port,
        )
        print(f"==> Starting the action server on port {action_port}", flush=True)
        stack.start_actions()
        print(f"==> Starting the Rasa server on port {rasa_port}", flush=True)
        stack.start_rasa()
        if console:
            print(f"==> Starting the team console on port {console_port}", flush=True)
            stack.start_console()
        kept = yaml.safe_load(credentials.read_text()) or {}
        print("\nThe bot is running.")
        print(f'  REST:  POST {stack.rasa_url}/webhooks/rest/webhook  {{"sender": "me", "message": "hi"}}')
        for channel in kept:
            if channel in WEBHOOKS:
                name, path = WEBHOOKS[channel]
                print(f"  {name}: {stack.rasa_url}/webhooks/{path}  (register it via your public URL)")
        if console:
            print(f"  Team console: {stack.console_url}/  (log in with CONSOLE_TOKEN)")
        else:
            skipped.append("team console (set CONSOLE_TOKEN)")
        for item in skipped:
            print(f"  not started: {item}")
        print("  Chat in a terminal: make chat    Stop: Ctrl-C\n", flush=True)
        while all(p.poll() is None for p in stack.processes.values()):
            time.sleep(0.5)
        dead = [n for n, p in stack.processes.items() if p.poll() is not None]
        raise StackError(f"the {', '.join(dead)} server stopped unexpectedly; see its log above")
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if stack is not None:
            stack.stop()


if __name__ == "__main__":
    sys.exit(run())
