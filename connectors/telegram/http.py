"""python-telegram-bot's HTTP requests sent through one aiohttp session instead of httpx.

Every answer costs the Rasa server two Bot API calls (typing, then sendMessage) on the
event loop that also answers webhooks. python-telegram-bot's default `HTTPXRequest` spent
2.5-3 ms of CPU per call here, and 4-7 ms with many calls in flight (httpcore scans its
whole pool for every request); aiohttp, which the Slack client uses too, 1-1.6 and
1.4-1.5 ms (`send_message` against the loopback stand-in, same run). At 64 Telegram
conversations the Rasa server spent ~14 % of its samples inside the httpx request path.

`BaseRequest` is python-telegram-bot's own extension point: it still builds the request,
reads Telegram's answer and raises its errors (`RetryAfter` for 429, `BadRequest`, ...);
this class only moves bytes and maps transport failures to `TimedOut` / `NetworkError`.
File uploads (the bot sends none today) go through python-telegram-bot's own transport.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData


class AiohttpRequest(BaseRequest):
    def __init__(self, connect_timeout: float = 5.0, read_timeout: float = 5.0) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._uploads: HTTPXRequest | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        self._open()

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        if self._uploads is not None:
            await self._uploads.shutdown()
            self._uploads = None

    def _open(self) -> aiohttp.ClientSession:
        # Created inside the running loop that uses it: an aiohttp session belongs to
        # one loop (Rasa's built-in Telegram channel fails on exactly that).
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session, self._loop = aiohttp.ClientSession(), loop
        return self._session

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is not None and request_data.multipart_data:
            self._uploads = self._uploads or HTTPXRequest()
            return await self._uploads.do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
            )
        read = self._read_timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        connect = self._connect_timeout if connect_timeout is BaseRequest.DEFAULT_NONE else connect_timeout
        timeout = aiohttp.ClientTimeout(sock_connect=connect, sock_read=read)
        fields = request_data.json_parameters if request_data else None
        headers = {"User-Agent": self.USER_AGENT}
        try:
            async with self._open().request(
                method, url, data=fields, timeout=timeout, headers=headers
            ) as response:
                return response.status, await response.read()
        except asyncio.TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
