"""The SSRF guard decides from addresses, at registration and at each send. These tests check
the decision with IP literals only: every socket connection and name resolution is made to
fail, so no packet can leave for a non-loopback address whatever the guard decides."""

from __future__ import annotations

import socket

import pytest

from webhooks import delivery, guard
from webhooks.errors import UrlRefused

REFUSED = [
    "https://127.0.0.1/h", "https://[::1]/h", "https://10.1.2.3/h", "https://172.16.0.1/h",
    "https://192.168.1.10/h", "https://169.254.169.254/latest/meta-data/",
    "https://100.100.100.200/", "https://[fd00:ec2::254]/", "https://100.64.0.1/",
    "https://224.0.0.1/", "https://239.255.255.250/", "https://[ff02::1]/",
    "https://[fe80::1]/", "https://0.0.0.0/", "https://[::]/", "https://240.0.0.1/",
    "https://[::ffff:127.0.0.1]/", "https://[::ffff:10.0.0.1]/", "https://[64:ff9b::a00:1]/",
    "https://[fc00::1]/", "https://192.0.2.1/", "https://198.18.0.1/",
]
ALLOWED = ["https://93.184.216.34/hook", "https://[2606:2800:220:1:248:1893:25c8:1946]/h",
           "https://8.8.8.8:8443/path?x=1"]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to resolve or connect fails the test loudly."""
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the guard's tests must not touch the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.delenv(guard.ALLOW_LOOPBACK_ENV, raising=False)


@pytest.mark.parametrize("url", REFUSED)
def test_internal_and_special_addresses_are_refused(url):
    with pytest.raises(UrlRefused) as refused:
        guard.decide(url)
    assert refused.value.status == 422 and refused.value.message.startswith("Adresse refusée")


@pytest.mark.parametrize("url", ALLOWED)
def test_public_https_addresses_are_allowed_and_pinned(url):
    target = guard.decide(url)
    assert target.scheme == "https" and target.address in url


@pytest.mark.parametrize("url", ["http://93.184.216.34/h", "ftp://93.184.216.34/",
                                 "https://user:pw@93.184.216.34/", "https:///nohost",
                                 "https://93.184.216.34:99999/", "javascript:alert(1)"])
def test_anything_but_plain_https_is_refused(url):
    with pytest.raises(UrlRefused):
        guard.decide(url)


def test_loopback_only_with_the_test_switch_and_then_even_over_http(monkeypatch):
    with pytest.raises(UrlRefused):
        guard.decide("http://127.0.0.1:8080/h")
    monkeypatch.setenv(guard.ALLOW_LOOPBACK_ENV, "1")
    assert guard.decide("http://127.0.0.1:8080/h").address == "127.0.0.1"
    assert guard.decide("https://[::1]/h").address == "::1"
    with pytest.raises(UrlRefused):  # the switch opens loopback only
        guard.decide("https://10.0.0.1/h")
    with pytest.raises(UrlRefused):
        guard.decide("http://93.184.216.34/h")


def test_a_name_is_decided_from_every_address_it_resolves_to(monkeypatch):
    """Resolution is simulated: a name with one private address among public ones is
    refused; the target keeps the decided address, so the send connects there only."""
    answers = {"partenaire.example": ["93.184.216.34", "10.0.0.5"],
               "public.example": ["93.184.216.34"]}

    def resolve(host: str, port: int, **_kw: object) -> list:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(UrlRefused):
        guard.decide("https://partenaire.example/h")
    assert guard.decide("https://public.example/h").address == "93.184.216.34"


def test_the_send_decides_again_and_never_connects_to_a_refused_address():
    """A URL registered while allowed, refused at send time: the attempt is recorded as
    refused without any connection (create_connection would fail the test)."""
    prepared = delivery.Prepared("https://10.0.0.9/hook", {}, "{}", 1)
    outcome = delivery.post(prepared)
    assert outcome.outcome == "refused" and "privée" in (outcome.excerpt or "")
