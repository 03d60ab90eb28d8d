"""The connector registry: what service tasks may call."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import echo_support
import pytest

from engine.runtime import connectors
from engine.runtime.connectors import Connector
from engine.runtime.errors import UnknownConnector


@pytest.fixture
def temporary() -> Iterator[Connector]:
    connector = Connector(
        id="test/temporaire",
        description="Connecteur de test.",
        required=("dossier",),
        optional=("motif",),
    )
    connectors.register(connector)
    yield connector
    connectors.unregister(connector.id)


def test_echo_is_registered_and_harmless() -> None:
    echo = connectors.get("relais/echo")
    assert connectors.is_registered("relais/echo")
    assert echo in connectors.all_connectors()
    assert echo.required == ()
    assert echo.optional == ("message", "pause_seconds")
    assert echo.description
    assert echo.run is not None
    params = {"message": "bonjour"}
    result = echo.run(params)
    assert result == {"message": "bonjour"}
    assert result is not params


def test_echo_pause_is_bounded_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(echo_support.time, "sleep", slept.append)
    echo = connectors.get("relais/echo")
    assert echo.run is not None
    assert echo.run({"pause_seconds": 2.5}) == {"pause_seconds": 2.5}
    assert echo.run({"pause_seconds": 0}) == {"pause_seconds": 0}
    assert slept == [2.5]
    for bad in (-1, 31, float("nan"), True, "5", None):
        with pytest.raises(ValueError, match="pause_seconds doit être un nombre de 0 à 30"):
            echo.run({"pause_seconds": bad})
    assert slept == [2.5]


def test_unknown_connector() -> None:
    assert not connectors.is_registered("acme/launch")
    with pytest.raises(UnknownConnector, match="Aucun connecteur") as caught:
        connectors.get("acme/launch")
    assert isinstance(caught.value, LookupError)


def test_registering(temporary: Connector) -> None:
    assert connectors.get("test/temporaire") is temporary
    assert connectors.register(temporary) is temporary  # same object: no-op
    with pytest.raises(ValueError):
        connectors.register(Connector(id="test/temporaire", description="Autre."))
    ids = [connector.id for connector in connectors.all_connectors()]
    assert ids == sorted(ids)


def test_parameter_problems(temporary: Connector) -> None:
    assert temporary.parameters == {"dossier", "motif"}
    assert temporary.parameter_problems({"dossier"}) == []
    assert temporary.parameter_problems({"dossier", "motif"}) == []
    (missing,) = temporary.parameter_problems(set())
    assert "obligatoire" in missing and "dossier" in missing
    (unknown,) = temporary.parameter_problems({"dossier", "secret"})
    assert "inconnu" in unknown and "secret" in unknown


@pytest.mark.parametrize("bad_id", ["echo", "Relais/echo", "relais/", "a/b/c", "relais/écho"])
def test_connector_ids_are_vendor_slash_name(bad_id: str) -> None:
    with pytest.raises(ValueError):
        Connector(id=bad_id, description="x")


def test_a_parameter_cannot_be_both_required_and_optional() -> None:
    with pytest.raises(ValueError):
        Connector(id="test/x", description="x", required=("a",), optional=("a",))


SLOW_PROVIDER = """
import time

from engine.runtime import connectors

time.sleep(0.3)  # a provider whose import takes a while (its own imports, say)
connectors.register(connectors.Connector(id="essai/lent", description="Lent à importer."))
"""


def test_no_thread_sees_the_registry_before_every_provider_is_imported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fournisseur_lent.py").write_text(SLOW_PROVIDER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(connectors, "PROVIDERS", ("fournisseur_lent",))
    monkeypatch.setattr(connectors, "_providers_loaded", False)
    threads_count = 8
    start = threading.Barrier(threads_count)
    answers: list[object] = []

    def look_up() -> None:
        start.wait()
        try:
            answers.append(connectors.get("essai/lent").id)
        except UnknownConnector as exc:
            answers.append(exc)

    threads = [threading.Thread(target=look_up) for _ in range(threads_count)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert answers == ["essai/lent"] * threads_count
    finally:
        connectors.unregister("essai/lent")
        sys.modules.pop("fournisseur_lent", None)


def test_echo_is_registered_by_the_tests_not_by_production_code() -> None:
    source = Path(connectors.__file__).read_text()
    assert "relais/echo" not in source
    assert connectors.get("relais/echo") is echo_support.ECHO
