"""The `relais` command. Commands parse arguments, call services and report; nothing more."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from engine.config import Settings
from engine.errors import RelaisError


def _fail(message: str, status: int = 2) -> NoReturn:
    click.echo(f"Erreur : {message}", err=True)
    sys.exit(status)


@click.group()
def main() -> None:
    """Relais — protocoles partenariaux et acheminement sécurisé de documents."""


@main.command()
def init() -> None:
    """Créer ou mettre à jour le schéma, les clés embarquées et la clé de la plateforme."""
    from engine.platform import initialise

    settings = Settings.from_env()
    try:
        initialise(settings)
    except RelaisError as exc:
        _fail(exc.message)
    click.echo(f"Relais initialisé ({settings.dialect}, données : {settings.home}).")


@main.command()
def demo() -> None:
    """Créer (sans rien dupliquer) le territoire de démonstration."""
    from engine.demo import create_demo
    from engine.platform import initialise

    try:
        created = create_demo(initialise(Settings.from_env()))
    except RelaisError as exc:
        _fail(exc.message)
    click.echo(f"Territoire de démonstration prêt ({len(created)} élément(s) créé(s)).")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
def serve(host: str, port: int, threads: int) -> None:
    """Servir l'application web."""
    from waitress import serve as waitress_serve

    from engine.demo import demo_password_in_use
    from engine.platform import connect
    from engine.web import create_app

    settings = Settings.from_env()
    db = connect(settings)
    if db.master is None:
        _fail("clé maîtresse absente : lancez d'abord « relais init ».")
    exposed = demo_password_in_use(db)
    if exposed:
        click.echo("ATTENTION : le mot de passe de démonstration est encore accepté pour "
                   f"{', '.join(exposed)}. N'utilisez pas ces comptes en production.", err=True)
    app = create_app(settings, db)
    if not settings.broker_url:
        from engine.jobs.runner import Jobs

        Jobs(db, None).start_in_process()
    click.echo(f"Relais écoute sur http://{host}:{port}/")
    waitress_serve(app, host=host, port=port, threads=threads, ident="relais")


@main.group()
def token() -> None:
    """Jetons d'accès à l'API."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="jeton", show_default=True, help="Libellé du jeton.")
def token_create(username: str, name: str) -> None:
    """Afficher un nouveau jeton pour USERNAME (il ne sera plus jamais affiché)."""
    from engine.audit.service import SYSTEM
    from engine.db import transaction
    from engine.identity import service as identity
    from engine.platform import connect

    db = connect(Settings.from_env())
    try:
        with transaction(db) as uow:
            _token, clear = identity.create_token(uow, SYSTEM, identity.get_user(uow, username),
                                                  name)
    except RelaisError as exc:
        _fail(exc.message)
    click.echo(clear)


@main.group()
def audit() -> None:
    """Journal d'audit."""


@audit.command("verify")
def audit_verify() -> None:
    """Vérifier toute la chaîne et les points de contrôle signés."""
    from engine.audit import service as audit_service
    from engine.platform import connect

    db = connect(Settings.from_env())
    with db.unit_of_work() as uow:
        result = audit_service.verify(uow)
    if result.ok:
        click.echo(f"Journal intègre : {result.entries} lignes, {result.checkpoints} points "
                   "de contrôle signés vérifiés.")
        return
    click.echo(f"Journal altéré à la ligne {result.first_bad_seq} : {result.reason}.", err=True)
    sys.exit(1)


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Signer la tête actuelle du journal avec la clé de la plateforme."""
    from engine.audit import service as audit_service
    from engine.db import transaction
    from engine.platform import connect

    db = connect(Settings.from_env())
    try:
        with transaction(db) as uow:
            cp = audit_service.checkpoint(uow)
    except RelaisError as exc:
        _fail(exc.message)
    click.echo(f"Point de contrôle signé à la ligne {cp.seq}." if cp else "Journal vide.")


if __name__ == "__main__":
    main()
