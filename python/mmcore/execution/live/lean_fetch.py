"""ccxt's REST calls over :class:`~mmcore.execution.live.http_pool.HttpPool` instead of aiohttp.

:class:`LeanFetch` replaces only ccxt's async ``Exchange.fetch`` (the HTTP exchange of one
request): ccxt still builds and signs every request (``fetch2`` → ``sign``), prepares its
headers, calls ``on_rest_response`` (the session's rate guard), parses the JSON, keeps
``last_response_headers`` / ``last_http_response`` / ``last_json_response``, and maps the reply
to its exceptions with ``handle_errors`` and ``handle_http_status_code``, as its own ``fetch``
does. Transport failures become the ccxt exceptions aiohttp's path raises for them:

* no reply within ``exchange.timeout`` (the whole request) → ``RequestTimeout``, the
  connection dropped;
* connection refused, reset or closed before the reply → ``ExchangeNotAvailable``;
* a reply cut mid-body or malformed → ``ExchangeError`` whose ``__cause__`` is the transport's
  error (aiohttp's ``ClientPayloadError`` / ``ClientResponseError`` land there too), which
  :func:`~mmcore.execution.live.errors.classify` reads as ambiguous.

Proxies (``proxyUrl``, ``httpProxy``, ``httpsProxy``, ``socksProxy``, their callbacks,
``aiohttp_proxy``, ``aiohttp_trust_env``), multipart bodies and HEAD requests are left to
ccxt's own ``fetch``: such a request goes over aiohttp as before. Websockets (ccxt.pro) are not
touched. Not done here, unlike aiohttp: redirects (a 3xx reaches ccxt's error mapping as is;
exchange APIs do not redirect) and Brotli (ccxt asks for gzip and deflate only).
"""

from __future__ import annotations

import codecs
import ssl
import sys
import zlib
from typing import Any

import ccxt

from mmcore.execution.live.http_pool import (
    HttpConnectError,
    HttpDisconnected,
    HttpPool,
    HttpProtocolError,
    HttpReply,
    HttpTimeout,
)

__all__ = ["LeanFetch", "lean_class"]

_CLASSES: dict[type, type] = {}
# aiohttp's defaults when ccxt gives none (a WAF may want a User-Agent); a bytes body's type
_DEFAULT_HEADERS = (
    ("User-Agent", f"Python/{sys.version_info.major}.{sys.version_info.minor} mmcore"),
    ("Accept", "*/*"),
    ("Content-Type", "application/octet-stream"),
)
# every setting ccxt's check_proxy_url_settings / check_proxy_settings read
_PROXY_ATTRS = (
    *(
        f"{stem}{end}"
        for stem in ("proxyUrl", "httpProxy", "httpsProxy", "socksProxy")
        for end in ("", "Callback")
    ),
    *(
        f"{stem}{end}"
        for stem in ("proxy_url", "http_proxy", "https_proxy", "socks_proxy")
        for end in ("", "_callback")
    ),
    "proxy",
)


def lean_class(cls: type) -> type:
    """``cls`` (a ccxt async or ccxt.pro exchange class) with :class:`LeanFetch` in front:
    same name, same behaviour, REST over the lean pool (one class made per ``cls``)."""
    made = _CLASSES.get(cls)
    if made is None:
        made = _CLASSES[cls] = type(cls.__name__, (LeanFetch, cls), {"__module__": __name__})
    return made


class LeanFetch:
    """A mixin in front of a ccxt async exchange class (see the module docstring).

    ``http_pool`` is the exchange's pool (made at its first request, closed by ``close``);
    ``lean_max_conns`` and ``lean_idle_s`` are its bounds (class attributes, override per
    instance before the first request); ``lean_http = False`` sends every request over
    ccxt's own ``fetch`` (aiohttp) instead, from the next request on."""

    lean_http = True
    lean_max_conns = 8
    lean_idle_s = 30.0
    http_pool: HttpPool | None = None
    _lean_tls: ssl.SSLContext | None = None

    def _lean_unsupported(self, headers: Any) -> bool:
        """True when a proxy or a multipart body is configured: ccxt's own fetch serves it
        (and makes its own checks of conflicting proxy settings)."""
        ex: Any = self
        if ex.aiohttp_proxy or ex.aiohttp_trust_env:
            return True
        # ccxt's check_proxy_*_settings find a proxy exactly when one of these is not None
        # (they also call the callbacks: a callback set at all goes to ccxt)
        for name in _PROXY_ATTRS:  # a plain loop: twice as fast as any() over a generator
            if getattr(ex, name, None) is not None:
                return True
        if headers:
            for name, value in headers.items():
                if value == "multipart/form-data" and name.lower() == "content-type":
                    return True
        return False

    async def fetch(self, url, method="GET", headers=None, body=None):  # type: ignore[no-untyped-def]
        """ccxt's ``fetch`` on the lean pool: the decoded reply, or a ccxt exception."""
        ex: Any = self
        # a reply to HEAD has a length but no body, which the pool's parser cannot know
        if not self.lean_http or method == "HEAD" or self._lean_unsupported(headers):
            return await super().fetch(url, method, headers, body)  # type: ignore[misc]
        request_headers = ex.prepare_request_headers(headers)
        ex.last_request_headers = request_headers
        ex.open(True)  # ccxt's checks (closed by the user) and its TLS context
        if ex.verbose:
            ex.log(
                "\nfetch Request:", ex.id, method, url,
                "RequestHeaders:", request_headers, "RequestBody:", body,
            )  # fmt: skip
        ex.logger.debug("%s %s, Request: %s %s", method, url, headers, body)
        pool = self.http_pool
        if pool is None:
            pool = self.http_pool = HttpPool(max_conns=self.lean_max_conns, idle_s=self.lean_idle_s)
        # what aiohttp adds to ccxt's headers on the wire (ccxt's own dict is left as it is)
        present = {name.lower() for name in request_headers}
        wire = request_headers
        for name, value in _DEFAULT_HEADERS:
            if name.lower() not in present and (body or name != "Content-Type"):
                wire = {**wire, name: value}
        encoded = body.encode() if body else None
        details = f"{ex.id} {method} {url}"
        try:
            reply = await pool.request(
                method,
                url,
                wire,
                encoded,
                timeout_s=ex.timeout / 1000,
                ssl_context=self._tls_context(),
            )
        except HttpTimeout as exc:
            raise ccxt.RequestTimeout(details) from exc
        except (HttpConnectError, HttpDisconnected) as exc:
            if isinstance(exc, HttpDisconnected) and exc.head_received:
                raise ccxt.ExchangeError(details) from exc  # aiohttp: ClientPayloadError
            raise ccxt.ExchangeNotAvailable(details) from exc
        except ValueError as exc:  # a header or URL that cannot be sent
            raise ccxt.ExchangeError(f"{details}: {exc}") from exc
        except OSError as exc:
            raise ccxt.ExchangeNotAvailable(details) from exc
        except Exception as exc:  # the rest of HttpError: a malformed reply
            raise ccxt.ExchangeError(details) from exc
        return self._lean_handle(reply, url, method, request_headers, body, details)

    def _lean_handle(
        self,
        reply: HttpReply,
        url: str,
        method: str,
        request_headers: dict[str, str],
        request_body: Any,
        details: str,
    ) -> Any:
        ex: Any = self
        headers: dict[str, str] = {}
        content_type = encoding = ""
        for name, value in reply.headers:  # repeated headers joined as ccxt does
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
            low = name.lower()
            if low == "content-type":
                content_type = value
            elif low == "content-encoding":
                encoding = value.strip().lower()
        try:
            text = _decode(reply.body, content_type, encoding)
        except (zlib.error, LookupError) as exc:
            # as aiohttp's undecodable payload (a ClientError): the venue had the request
            raise ccxt.ExchangeError(details) from HttpProtocolError(f"undecodable body: {exc}")
        code, reason = reply.status, reply.reason
        text = ex.on_rest_response(
            code, reason, url, method, headers, text, request_headers, request_body
        )
        json_response = ex.parse_json(text)
        if ex.enableLastHttpResponse:
            ex.last_http_response = text
        if ex.enableLastResponseHeaders:
            ex.last_response_headers = headers
        if ex.enableLastJsonResponse:
            ex.last_json_response = json_response
        if ex.verbose:
            ex.log(
                "\nfetch Response:", ex.id, method, url, code,
                "ResponseHeaders:", headers, "ResponseBody:", text,
            )  # fmt: skip
        if json_response and not isinstance(json_response, list) and ex.returnResponseHeaders:
            json_response["responseHeaders"] = headers
        ex.logger.debug("%s %s, Response: %s %s %s", method, url, code, headers, text)
        ex.handle_errors(
            code, reason, url, method, headers, text, json_response, request_headers, request_body
        )
        ex.handle_http_status_code(code, reason, url, method, text)
        if json_response is not None:
            return json_response
        if ex.is_text_response(headers) or text == "":
            return text
        return reply.body

    def _tls_context(self) -> ssl.SSLContext | None:
        """ccxt's TLS context (certifi's CAs unless ``cafile`` says otherwise); with
        ``verify`` off, one that checks nothing, as aiohttp does with ``ssl=False``."""
        ex: Any = self
        context = ex.ssl_context
        if isinstance(context, ssl.SSLContext):
            return context
        if self._lean_tls is None:
            unchecked = ssl.create_default_context()
            unchecked.check_hostname = False
            unchecked.verify_mode = ssl.CERT_NONE
            self._lean_tls = unchecked
        return self._lean_tls

    async def close(self, clean_instance_data=False):  # type: ignore[no-untyped-def]
        """Close the pool's connections, then ccxt's own resources."""
        pool, self.http_pool = self.http_pool, None
        if pool is not None:
            await pool.close()
        return await super().close(clean_instance_data)  # type: ignore[misc]


def _decode(body: bytes, content_type: str, encoding: str) -> str:
    """The body as text: gzip/deflate undone (ccxt asks for them), then decoded with the
    Content-Type's charset or UTF-8, undecodable bytes replaced (as aiohttp's ``text``)."""
    if encoding in ("gzip", "x-gzip"):
        body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        try:
            body = zlib.decompress(body)
        except zlib.error:  # raw deflate, as some servers send it
            body = zlib.decompress(body, -zlib.MAX_WBITS)
    elif encoding not in ("", "identity"):
        raise LookupError(f"unsupported Content-Encoding {encoding!r}")
    charset = "utf-8"
    if ";" in content_type:
        for param in content_type.split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                charset = value.strip().strip('"')
                try:
                    codecs.lookup(charset)
                except LookupError:
                    charset = "utf-8"
    return body.decode(charset, errors="replace")
