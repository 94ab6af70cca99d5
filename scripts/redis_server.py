"""A throwaway `redis-server` on a loopback port, for the scale-out tests and benchmarks.

Nothing is persisted (no RDB snapshot, no append-only file), so a stop really loses
everything, which is what the fault tests need to show recovery from an empty Redis,
and a test run leaves no files behind. Production Redis is the operator's, not this.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field

from scripts.stack import StackError, free_port


@dataclass
class RedisServer:
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The variables `endpoints.redis.yml` and the connectors' dedupe store read."""
        return {
            "REDIS_HOST": self.host,
            "REDIS_PORT": str(self.port),
            "REDIS_PASSWORD": "",
            "REDIS_URL": f"redis://{self.host}:{self.port}/1",
        }

    def start(self, timeout: float = 10) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise StackError("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                self.host,
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackError(f"redis-server exited at start (exit {self.process.returncode})")
            if self.ping():
                return self
            time.sleep(0.05)
        raise StackError(f"redis-server did not answer on port {self.port} within {timeout:.0f} s")

    def ping(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
