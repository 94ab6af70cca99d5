"""The support team's console: try a question in every channel, see what the articles
are missing, read conversations and open handoffs.

Its own process in the action-server environment (`python -m actions.console`), so a
slow page never holds up a customer's answer; it calls the same engine and renderers as
the bot through `actions/console/adapter.py`. Every page but the login form needs the
token in CONSOLE_TOKEN: typed once into the form, it becomes an HttpOnly, SameSite=Strict
cookie holding an HMAC of the token (so the cookie is not the token, and changing the
token logs everyone out); scripts may send `Authorization: Bearer <token>` instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, html, redirect, text

from actions import gaps
from actions.console import adapter, preview
from actions.console.conversations import TrackerSource, open_handoffs, source_from_env
from knowledge.service import KnowledgeBaseMissing

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
COOKIE = "nimbus_console"
PUBLIC = ("/login", "/health", "/static/")
MAX_QUESTION = 2000

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True
)


def _when(iso: str | None) -> str:
    """`2026-12-06T08:26:49+00:00` as `2026-12-06 08:26 UTC`: the team reads many of them."""
    if not iso:
        return ""
    return iso[:16].replace("T", " ") + (" UTC" if iso.endswith("+00:00") else "")


_templates.filters["when"] = _when


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"nimbus-console-session", hashlib.sha256).hexdigest()


def authorised(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return hmac.compare_digest(header[7:].strip().encode(), token.encode())
    cookie = request.cookies.get(COOKIE) or ""
    return hmac.compare_digest(cookie.encode(), session_value(token).encode())


def page(name: str, status: int = 200, **context: Any) -> HTTPResponse:
    return html(_templates.get_template(name).render(**context), status=status)


def create_app(token: str, tracker: TrackerSource | None = None, name: str = "nimbus_console") -> Sanic:
    if not token:
        raise ValueError("the console needs a token (CONSOLE_TOKEN)")
    app = Sanic(name)
    app.static("/static", HERE / "static", name="static")
    app.ctx.tracker = tracker

    def tracker_source() -> TrackerSource:
        if app.ctx.tracker is None:
            app.ctx.tracker = source_from_env()
        return app.ctx.tracker

    @app.on_request
    async def require_token(request: Request):
        if request.path.startswith(PUBLIC) or authorised(request, token):
            return None
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return page("login.html", status=401, next=request.path, error="")
        return text("a console token is required\n", status=401)

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        return text("ok\n")

    @app.get("/login")
    async def login_form(request: Request) -> HTTPResponse:
        return page("login.html", next=request.args.get("next", "/"), error="")

    @app.post("/login")
    async def login(request: Request) -> HTTPResponse:
        submitted = (request.form.get("token") or "").strip()
        target = request.form.get("next") or "/"
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        if not hmac.compare_digest(submitted.encode(), token.encode()):
            log.warning("console login refused (wrong token)")
            await asyncio.sleep(0.5)  # one guess per half second per connection
            return page("login.html", status=401, next=target, error="That token is not right.")
        response = redirect(target)
        response.add_cookie(
            COOKIE,
            session_value(token),
            httponly=True,
            samesite="Strict",
            secure=request.scheme == "https",
            max_age=12 * 3600,
        )
        return response

    @app.post("/logout")
    async def logout(_: Request) -> HTTPResponse:
        response = redirect("/login")
        response.delete_cookie(COOKIE)
        return response

    @app.get("/")
    async def home(_: Request) -> HTTPResponse:
        return redirect("/try")

    @app.route("/try", methods=["GET", "POST"])
    async def try_question(request: Request) -> HTTPResponse:
        source = request.form if request.method == "POST" else request.args
        question = (source.get("question") or "").strip()[:MAX_QUESTION]
        earlier = (source.get("earlier") or "")[: 4 * MAX_QUESTION]
        context: dict[str, Any] = {
            "question": question,
            "earlier": earlier,
            "trial": None,
            "previews": {},
            "error": "",
        }
        if question:
            turns = adapter.parse_turns(earlier)
            loop = asyncio.get_running_loop()
            try:
                trial = await loop.run_in_executor(None, adapter.try_question, question, turns)
            except KnowledgeBaseMissing as exc:
                context["error"] = f"No knowledge base to search: {exc}"
                return page("try.html", status=503, active="try", **context)
            context["trial"] = trial
            context["previews"] = {
                channel: preview.channel_previews(channel, messages)
                for channel, messages in trial.previews.items()
            }
        return page("try.html", active="try", **context)

    @app.get("/gaps")
    async def gaps_page(request: Request) -> HTTPResponse:
        days = _days(request)
        loop = asyncio.get_running_loop()
        try:
            groups = await loop.run_in_executor(None, gaps.collect, days)
        except KnowledgeBaseMissing as exc:
            return page("gaps.html", status=503, active="gaps", groups=[], days=days, error=str(exc))
        return page("gaps.html", active="gaps", groups=groups, days=days, counts=gaps.counts, error="")

    @app.get("/gaps.csv")
    async def gaps_csv(request: Request) -> HTTPResponse:
        loop = asyncio.get_running_loop()
        groups = await loop.run_in_executor(None, gaps.collect, _days(request))
        return text(
            await loop.run_in_executor(None, gaps.to_csv, groups),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="unanswered-questions.csv"'},
        )

    @app.get("/conversations")
    async def conversations(request: Request) -> HTTPResponse:
        channel = request.args.get("channel", "")
        loop = asyncio.get_running_loop()
        source = tracker_source()
        try:
            recent = await loop.run_in_executor(None, source.recent, 200)
            error = ""
        except Exception as exc:  # noqa: BLE001 - the page says the store is unreachable
            log.warning("tracker store unreachable: %s", type(exc).__name__)
            recent, error = [], f"Could not read the tracker store: {type(exc).__name__}"
        channels = sorted({c.channel for c in recent})
        shown = [c for c in recent if not channel or c.channel == channel][:50]
        handoffs = await loop.run_in_executor(None, adapter.handoff_records)
        handoff_source = "From the action server's handoff records."
        if handoffs is None:
            handoffs = open_handoffs(recent)
            handoff_source = "From the tracker store (no handoff records on this machine)."
        return page(
            "conversations.html",
            active="conversations",
            conversations=shown,
            channels=channels,
            channel=channel,
            handoffs=handoffs,
            handoff_source=handoff_source,
            store=source.describe(),
            error=error,
            quote=quote,
        )

    return app


def _days(request: Request) -> float | None:
    try:
        value = float(request.args.get("days", "") or 0)
    except ValueError:
        return None
    return value if value > 0 else None


def warm_up() -> None:
    """Load the embedding model and index before the first question, not during it."""
    try:
        adapter.knowledge_base().embedder.embed_one("warm up")
    except Exception as exc:  # noqa: BLE001 - pages still load; questions report the error
        log.warning("console warm-up failed: %s", exc)


def start_warm_up() -> threading.Thread:
    thread = threading.Thread(target=warm_up, name="console-warm-up", daemon=True)
    thread.start()
    return thread
