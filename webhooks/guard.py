"""The SSRF guard: may Relais call this URL? Decided from the resolved addresses, at
registration and again at each send (the send then connects to the address decided here,
so a name that resolves elsewhere a second later is never followed).

Refused: anything but https; loopback, private, link-local, shared, multicast, reserved,
unspecified and cloud-metadata addresses. Loopback (over http or https) is allowed only with
RELAIS_WEBHOOKS_ALLOW_LOOPBACK=1, which tests set.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from webhooks.errors import UrlRefused

ALLOW_LOOPBACK_ENV = "RELAIS_WEBHOOKS_ALLOW_LOOPBACK"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = {ipaddress.ip_address(a) for a in
            ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")}
NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class Target:
    """Where to connect: the URL's parts and the one address decided for this call."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def loopback_allowed() -> bool:
    return os.environ.get(ALLOW_LOOPBACK_ENV) == "1"


def _embedded_v4(address: IPAddress) -> IPAddress:
    """The IPv4 address hidden in an IPv4-mapped or NAT64 IPv6 address, else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refusal(address: IPAddress, allow_loopback: bool) -> str | None:
    """Why `address` may not be called (French), or None when it may."""
    address = _embedded_v4(address)
    if address.is_loopback:
        return None if allow_loopback else "adresse de bouclage (loopback)"
    if address in METADATA:
        return "adresse de métadonnées d'hébergeur"
    if address.is_multicast:
        return "adresse de multidiffusion"
    if address.is_link_local:
        return "adresse lien-local"
    if address.is_unspecified or address.is_reserved:
        return "adresse réservée"
    if address.is_private or not address.is_global:
        return "adresse privée ou non routable"
    return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UrlRefused(f"Le nom « {host} » ne se résout pas.") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def decide(url: str, allow_loopback: bool | None = None) -> Target:
    """The target to connect to, or UrlRefused (422) saying why not."""
    allow = loopback_allowed() if allow_loopback is None else allow_loopback
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("Adresse mal formée.") from None
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise UrlRefused("L'adresse doit commencer par https:// et nommer un serveur.")
    if parts.username or parts.password:
        raise UrlRefused("L'adresse ne doit pas contenir d'identifiants.")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    reasons = [r for r in (refusal(a, allow) for a in addresses) if r]
    if reasons or not addresses:
        raise UrlRefused(f"Adresse refusée : {reasons[0] if reasons else 'introuvable'}.")
    if parts.scheme == "http" and not all(_embedded_v4(a).is_loopback for a in addresses):
        raise UrlRefused("L'adresse doit commencer par https://.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, str(addresses[0]))
