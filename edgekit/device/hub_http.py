"""The requests of a device's hub client (:mod:`edgekit.device.hub_client`), on ``urllib``:
bounded reads, the hub's errors as :class:`~edgekit.errors.HubError` (with a 429's
``Retry-After``), bytes counted each way, and the device's token sent to the hub's own scheme,
host and port only (no redirect is followed; a URL elsewhere is refused before it is opened)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.client import HTTPResponse
from typing import Any

from edgekit.errors import ConfigError, HubError

__all__ = ["MAX_REPLY", "HubHttp", "Traffic"]

MAX_REPLY = 1 << 20  # bytes read at most of a JSON reply, an error or signed metadata


@dataclass
class Traffic:
    """Bytes a client moved: request bodies up, response bodies down, and the bytes of files
    copied from the installed version instead of downloaded."""

    down: int = 0
    up: int = 0
    reused: int = 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would carry the token to wherever it points: answered as an error instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HubHttp:
    """Requests to the hub at ``url``, authorised by ``token`` once the device has one."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/") + "/"
        self.origin = urllib.parse.urlsplit(self.url)[:2]
        if self.origin[0] not in ("http", "https") or not self.origin[1]:
            raise ConfigError(f"the hub URL must be http(s)://host[:port], got {url!r}")
        self.timeout = timeout
        self.token: str | None = None
        self.traffic = Traffic()
        self._opener = urllib.request.build_opener(_NoRedirect)

    def open(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        content_type: str = "application/octet-stream",
    ) -> HTTPResponse:
        """The hub's reply to ``method`` ``target`` (a path, relative or absolute) if it is a
        success (2xx); else HubError."""
        url = urllib.parse.urljoin(self.url, target)
        if urllib.parse.urlsplit(url)[:2] != self.origin:
            raise HubError(f"{method} {url}", None, f"not on the hub {self.url}: refused")
        headers = dict(headers or {})
        if auth:
            if self.token is None:
                raise ConfigError(f"this device is not registered with {self.url}: register()")
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            headers["Content-Type"] = content_type
            self.traffic.up += len(body)
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            reply: HTTPResponse = self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            with exc:
                raw = exc.read(MAX_REPLY)
            self.traffic.down += len(raw)
            retry = _seconds(exc.headers.get("Retry-After"))
            raise HubError(f"{method} {target}", exc.code, _detail(raw), retry) from None
        except OSError as exc:  # URLError, refused, reset, timed out
            reason = getattr(exc, "reason", exc)
            raise HubError(f"{method} {target}", None, str(reason)) from exc
        return reply

    def read(self, reply: HTTPResponse, what: str) -> bytes:
        """The whole body of ``reply`` (at most MAX_REPLY bytes, else HubError)."""
        with reply:
            data = reply.read(MAX_REPLY + 1)
        self.traffic.down += len(data)
        if len(data) > MAX_REPLY:
            raise HubError(what, reply.status, f"over {MAX_REPLY} bytes")
        return data

    def json(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None, auth: bool = True
    ) -> dict[str, Any]:
        """A JSON object from the hub: ``body`` sent as JSON, or ``raw`` as bytes."""
        data = raw if body is None else json.dumps(body).encode()
        kind = "application/json" if body is not None else "application/octet-stream"
        reply = self.open(method, path, data, auth=auth, content_type=kind)
        text = self.read(reply, f"{method} {path}")
        try:
            return dict(json.loads(text))
        except (ValueError, TypeError):
            raise HubError(f"{method} {path}", reply.status, "the reply is not JSON") from None


def _detail(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["detail"])
    except (ValueError, KeyError, TypeError):
        return raw.decode("utf-8", "replace")[:300] or "(no detail)"


def _seconds(value: str | None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) in seconds from now."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None
