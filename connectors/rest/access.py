"""Who may talk to the REST channel.

The channel shares Rasa's public port with the platform webhooks, so by default it
answers only what comes straight from this machine: the peer address is loopback and
the request carries no proxy header (a tunnel or reverse proxy also connects from
loopback, but adds Forwarded / X-Forwarded-For, and then the request is really from
the internet). A configured token opens it to any host presenting
`Authorization: Bearer <token>`, compared in constant time; widget mode opens it to
browsers, which then must use server-signed sender ids (senders.py).
"""

from __future__ import annotations

import hmac
import ipaddress

from sanic.request import Request

from connectors.common.webhook import Rejected

PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip", "x-forwarded-host")


def is_direct_loopback(request: Request) -> bool:
    try:
        peer = ipaddress.ip_address(request.conn_info.client_ip if request.conn_info else "")
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped:
        peer = peer.ipv4_mapped
    return peer.is_loopback and not any(name in request.headers for name in PROXY_HEADERS)


def bearer_ok(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, sent = header.partition(" ")
    if scheme.lower() != "bearer" or not sent:
        return False
    return hmac.compare_digest(sent.strip().encode("ascii", "replace"), token.encode("utf-8"))


def check_access(request: Request, token: str, widget: bool) -> None:
    if token:
        if bearer_ok(request, token):
            return
        if not widget:
            raise Rejected(401, "missing or wrong bearer token")
    if widget:
        return  # public; the sender must then be a signed id (checked by the channel)
    if not is_direct_loopback(request):
        raise Rejected(403, "the REST channel accepts only local requests unless a token is configured")
