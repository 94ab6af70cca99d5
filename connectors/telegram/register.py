"""Register (or remove) the Telegram webhook: `python -m connectors.telegram.register URL`.

Telegram must be told where to deliver updates and which secret to send with them;
allowed_updates limits traffic to what the bot handles.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from connectors.telegram.channel import ALLOWED_UPDATES, DEFAULT_BASE_URL, make_bot


async def register(token: str, secret: str, url: str, base_url: str, drop_pending: bool) -> bool:
    async with make_bot(token, base_url) as bot:
        return await bot.set_webhook(
            url, secret_token=secret, allowed_updates=ALLOWED_UPDATES, drop_pending_updates=drop_pending
        )


async def unregister(token: str, base_url: str) -> bool:
    async with make_bot(token, base_url) as bot:
        return await bot.delete_webhook()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="public https URL ending in /webhooks/telegram/webhook")
    parser.add_argument("--delete", action="store_true", help="remove the webhook (e.g. to use polling)")
    parser.add_argument("--drop-pending", action="store_true", help="discard updates queued at Telegram")
    args = parser.parse_args(argv)
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
    base_url = os.environ.get("TELEGRAM_API_BASE_URL", "").strip() or DEFAULT_BASE_URL
    if not token:
        print("error: set TELEGRAM_BOT_TOKEN", file=sys.stderr)
        return 1
    try:
        if args.delete:
            asyncio.run(unregister(token, base_url))
            print("Webhook removed.")
            return 0
        url = args.url or os.environ.get("TELEGRAM_WEBHOOK_URL", "").strip()
        if not url or not secret:
            print(
                "error: give the public URL (or TELEGRAM_WEBHOOK_URL) and set TELEGRAM_WEBHOOK_SECRET",
                file=sys.stderr,
            )
            return 1
        asyncio.run(register(token, secret, url, base_url, args.drop_pending))
    except Exception as exc:  # noqa: BLE001 - one line for the operator, never the token
        print(
            f"error: Telegram refused: {type(exc).__name__}: {str(exc).replace(token, '***')}",
            file=sys.stderr,
        )
        return 1
    print(f"Webhook registered: {url} (updates: {', '.join(ALLOWED_UPDATES)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
