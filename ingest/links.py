"""Where a CAP feed may send the runner: an ATOM index is remote input, and its links are
fetched from inside the bureau's network. Without a limit a feed — or whoever answers in its
name — could point the runner at internal addresses (the database's web console, a metadata
service, the API itself: server-side request forgery). A link is followed only to the feed's own
host and port or to a host its source lists in ``link_hosts``, over http or https, and every
redirect hop is held to the same rule."""

from __future__ import annotations

from collections.abc import Iterable

import httpx

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REDIRECTS = 5


class LinkRefusedError(Exception):
    """A link (or a redirect) leaves the hosts its feed may use; the message says which."""


def _origin(url: httpx.URL) -> tuple[str, int | None]:
    return url.host.lower(), url.port or DEFAULT_PORTS.get(url.scheme)


def allowed_origins(feed_url: str, link_hosts: Iterable[str]) -> set[tuple[str, int | None]]:
    """The feed's own host and port, and each ``link_hosts`` entry (``host`` or ``host:port``;
    without a port, the http and https defaults)."""
    allowed = {_origin(httpx.URL(feed_url))}
    for entry in link_hosts:
        url = httpx.URL(f"http://{entry.strip()}")
        if url.port is None:
            allowed |= {(url.host.lower(), 80), (url.host.lower(), 443)}
        else:
            allowed.add((url.host.lower(), url.port))
    return allowed


def check_link(url: str, allowed: set[tuple[str, int | None]]) -> None:
    parsed = httpx.URL(url)
    if parsed.scheme not in DEFAULT_PORTS:
        raise LinkRefusedError(f"{url}: only http and https links are followed")
    host, port = _origin(parsed)
    if (host, port) not in allowed:
        hosts = ", ".join(sorted(f"{h}:{p}" for h, p in allowed))
        raise LinkRefusedError(
            f"{url}: {host}:{port} is neither the feed's host nor one of its link_hosts ({hosts})"
        )


def get_within(
    client: httpx.Client, url: str, allowed: set[tuple[str, int | None]], timeout: float
) -> httpx.Response:
    """GET ``url``, following at most MAX_REDIRECTS redirects, each checked before it is asked."""
    for _ in range(MAX_REDIRECTS + 1):
        check_link(url, allowed)
        response = client.get(url, timeout=timeout, follow_redirects=False)
        if not response.has_redirect_location:
            return response
        url = str(response.url.join(response.headers["location"]))
    raise LinkRefusedError(f"{url}: more than {MAX_REDIRECTS} redirects")
