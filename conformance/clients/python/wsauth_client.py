"""A small wsauth.v1 client, written from SPEC.md alone: an example for client authors.

Python 3.9+, the standard library and `websockets` (Debian: python3-websockets, 10.x;
its legacy asyncio API, which later versions keep). It connects with the subprotocol or
the auth-frame transport, renews before the deadline (on renew_required and on its own
timer, one renewal at a time), and after a close does what the close code's policy says.
"""
import asyncio
import json
import random

import websockets

SUBPROTOCOL = "wsauth.v1"
BEARER_PREFIX = "wsauth.bearer."
RESERVED_TYPES = {"auth", "authenticated", "renew_required", "renew", "renewed", "auth_error"}
_DEADLINE = {"expiresAt": "ms", "expiresIn": "ms"}
# SPEC §4: the fields each server frame must have; a frame without them is dropped.
_SERVER_FRAMES = {
    "authenticated": {"connectionId": "text", "subject": "text", **_DEADLINE},
    "renew_required": _DEADLINE,
    "renewed": _DEADLINE,
    "auth_error": {"code": "text", "message": "str", "closing": "bool", "retry": "bool"},
}
_OPTIONAL = {"sessionId": "text", "id": "id"}

# SPEC §7: the policy of every code a client may see.
_POLICIES = {
    4400: "stop", 4401: "reauthenticate", 4403: "stop", 4408: "reconnect", 4409: "stop", 4413: "reconnect",
    4429: "reconnect", 4440: "reauthenticate", 4441: "stop", 4500: "reconnect", 4503: "reconnect",
    1000: "stop", 1002: "stop", 1003: "stop", 1007: "stop", 1008: "stop", 1009: "stop", 1010: "stop", 1015: "stop",
}


def close_policy(code):
    """'reauthenticate', 'reconnect' or 'stop' (SPEC §7; any other code is 'reconnect')."""
    return _POLICIES.get(code, "reconnect")


def backoff(attempt):
    """Exponential backoff with full jitter, in seconds (SPEC §9 rule 7)."""
    return random.uniform(0, min(30.0, 0.5 * 2 ** min(attempt, 30)))


def renewal_lead(lifetime):
    """How long before the local deadline to renew by itself: max(5 s, 10 %), at most half the lifetime."""
    return min(max(5.0, 0.1 * lifetime), lifetime / 2)


class WsAuthClient:
    def __init__(self, url, get_token, on_message, transport="subprotocol"):
        self.url = url
        self.get_token = get_token      # async () -> str
        self.on_message = on_message    # async (client, str | bytes) -> None
        self.transport = transport      # 'subprotocol' or 'auth-frame'
        self.last_close = None          # (code, reason, auth_error frame or None)
        self._ws = None
        self._stopped = False
        self._renewal = None            # the renewal in flight (a task), if any
        self._reply = None              # future settled by the renewed / auth_error of our renew
        self._timer = None
        self._renew_ids = 0
        self._renewal_refused = False
        self._token = None              # the token the server last accepted, reused to reconnect
        self._deadline = 0.0            # its local deadline (loop time)

    async def send(self, data):
        if self._ws is not None and self._ws.open:
            await self._ws.send(data)

    async def close(self):
        self._stopped = True
        if self._ws is not None:
            await self._ws.close()

    async def run(self):
        """Connects, and reconnects as each close's policy says, until a stop or close()."""
        attempt = 0
        while not self._stopped:
            if self._token is None or asyncio.get_running_loop().time() >= self._deadline:
                self._token = await self.get_token()
                self._deadline = float("inf")  # until the server tells
            token = self._token
            offered = [SUBPROTOCOL] + ([BEARER_PREFIX + token] if self.transport == "subprotocol" else [])
            delay, policy = 0.0, "reconnect"
            try:
                async with websockets.connect(self.url, subprotocols=offered, compression=None, ping_interval=None) as ws:
                    self._ws = ws
                    if ws.subprotocol != SUBPROTOCOL:
                        return  # not a wsauth.v1 server: retrying cannot help (SPEC §11 rule 5)
                    if self.transport == "auth-frame":
                        await ws.send(json.dumps({"type": "auth", "token": token}))
                    authenticated_for = await self._read(ws)
                code = ws.close_code or 1006
                policy = close_policy(code)
                if authenticated_for >= 5:
                    attempt = 0
            except websockets.exceptions.InvalidStatusCode as refused:
                # A refused upgrade: its status is the close code's minus 4000 (SPEC §7, §8).
                policy = close_policy(4000 + refused.status_code)
                retry_after = refused.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    delay = float(retry_after)  # at least as long as told, plus the jitter below
            except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException):
                policy = "reconnect"
            finally:
                self._ws = None
                self._end_connection()
            if policy == "stop" or self._stopped:
                return
            if policy == "reauthenticate":
                self._token = None
                if attempt == 0 and delay == 0:
                    attempt += 1
                    continue  # a fresh token fixes it: the first retry goes at once
            await asyncio.sleep(delay + backoff(attempt))
            attempt += 1

    async def _read(self, ws):
        """Handles the frames of one connection; returns how long it stayed authenticated, in s."""
        loop = asyncio.get_running_loop()
        authenticated_at, auth_error = None, None
        try:
            async for data in ws:
                frame = _protocol_frame(data)
                if frame is None:
                    await self.on_message(self, data)
                    continue
                kind = frame["type"]
                if kind == "authenticated":
                    authenticated_at = loop.time()
                    self._renewal_refused = False
                    self._schedule(frame["expiresIn"], frame["expiresIn"])
                elif kind == "renew_required":
                    self._schedule(frame["expiresIn"], None)
                    self._renew()
                elif kind == "renewed":
                    self._schedule(frame["expiresIn"], frame["expiresIn"])
                    self._settle(frame)
                elif kind == "auth_error":
                    if frame.get("closing"):
                        auth_error = frame
                    else:
                        self._settle(frame)
        except websockets.exceptions.ConnectionClosed:
            pass
        self.last_close = (ws.close_code, ws.close_reason, auth_error)
        return 0 if authenticated_at is None else loop.time() - authenticated_at

    def _schedule(self, expires_in_ms, lifetime_ms):
        """Local deadline = receipt time + expiresIn, never expiresAt (SPEC §6 rule 3)."""
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + expires_in_ms / 1000
        if lifetime_ms is not None:
            self._lifetime = lifetime_ms / 1000
        if self._timer is not None:
            self._timer.cancel()
        lead = renewal_lead(self._lifetime)
        self._timer = loop.call_later(max(0.0, expires_in_ms / 1000 - lead), self._renew)

    def _renew(self):
        """Starts a renewal unless one is in flight (single flight, SPEC §9 rule 3)."""
        if self._renewal is None and not self._renewal_refused and self._ws is not None:
            self._renewal = asyncio.ensure_future(self._renew_flight())

    async def _renew_flight(self, retries=2):
        try:
            for attempt in range(retries + 1):
                token = await self.get_token()
                ws = self._ws
                if ws is None or not ws.open:
                    return
                self._renew_ids += 1
                request_id = "r%d" % self._renew_ids
                self._reply = asyncio.get_running_loop().create_future()
                await ws.send(json.dumps({"type": "renew", "token": token, "id": request_id}))
                try:
                    reply = await asyncio.wait_for(self._reply, 10)
                except asyncio.TimeoutError:
                    reply = {"type": "auth_error", "retry": True}
                if reply["type"] == "renewed":
                    self._token = token
                    return
                if not reply.get("retry"):
                    self._renewal_refused = True  # wait for the close at the deadline (SPEC §9 rule 5)
                    return
                if attempt < retries:
                    await asyncio.sleep(backoff(attempt))
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            self._renewal = None

    def _settle(self, frame):
        if self._reply is not None and not self._reply.done() and frame.get("id") == "r%d" % self._renew_ids:
            self._reply.set_result(frame)

    def _end_connection(self):
        if self._timer is not None:
            self._timer.cancel()
        if self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None


def _fits(value, kind):
    if kind == "ms":
        return type(value) is int and value >= 0
    if kind == "bool":
        return type(value) is bool
    if kind == "id":
        return type(value) is str and 1 <= len(value) <= 64
    return type(value) is str and (kind == "str" or len(value) > 0)


def _protocol_frame(data):
    """A server frame; INVALID for a reserved type that breaks its schema (dropped); None for application data."""
    if not isinstance(data, str) or not data.startswith("{"):
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("type") not in RESERVED_TYPES:
        return None
    fields = _SERVER_FRAMES.get(value["type"])
    if fields is None or not all(_fits(value.get(name), kind) for name, kind in fields.items()):
        return INVALID
    if not all(_fits(value[name], kind) for name, kind in _OPTIONAL.items() if name in value):
        return INVALID
    return value


INVALID = {"type": None}
