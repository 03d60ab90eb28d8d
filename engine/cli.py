"""The `relais` command. Commands parse arguments, call services and report; nothing more."""

from __future__ import annotations

import sys

import click

from engine import cli_operations as operations
from engine.cli_support import fail as _fail
from engine.config import Settings
from engine.errors import ConfigurationError, RelaisError


class _Relais(click.Group):
    """Database failures (unreachable, not initialised) end in a French message, exit 2."""

    def invoke(self, ctx: click.Context) -> object:
        from sqlalchemy.exc import DBAPIError

        try:
            return super().invoke(ctx)
        except DBAPIError as exc:
            cause = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
            _fail(f"base de données injoignable ou non initialisée ({cause}) : vérifiez "
                  "RELAIS_DATABASE_URL, puis lancez « relais init ».")
        except ConfigurationError as exc:  # settings or key files refused (engine.platform)
            _fail(exc.message)


@click.group(cls=_Relais)
def main() -> None:
    """Relais — protocoles partenariaux et acheminement sécurisé de documents."""


@main.command()
@click.option("--audit-owner", metavar="RÔLE",
              help="PostgreSQL : rôle propriétaire des tables du journal d'audit (distinct du "
                   "rôle de l'application, qui n'y garde que SELECT et INSERT).")
@click.option("--app-role", metavar="RÔLE",
              help="Avec --audit-owner : rôle de l'application (par défaut, le rôle connecté).")
def init(audit_owner: str | None, app_role: str | None) -> None:
    """Créer ou mettre à jour le schéma, les clés embarquées et la clé de la plateforme."""
    from engine.audit import pin
    from engine.platform import initialise

    settings = Settings.from_env()
    try:
        initialise(settings, audit_owner=audit_owner, app_role=app_role)
    except RelaisError as exc:
        _fail(exc.message)
    click.echo(f"Relais initialisé ({settings.dialect}, données : {settings.home}).")
    if audit_owner:
        click.echo(f"Tables du journal d'audit confiées au rôle {audit_owner}.")
    pinned = pin.read_pins(pin.pin_file(settings.master_key_file))
    click.echo(f"Clé des points de contrôle du journal : empreinte {', '.join(pinned)} "
               f"(épinglée dans {pin.pin_file(settings.master_key_file)} ; gardez-en une copie "
               "hors ligne avec la clé maîtresse).")


@main.command()
def demo() -> None:
    """Créer (sans rien dupliquer) le territoire de démonstration et quelques situations."""
    from engine.demo import create_demo, populate_demo
    from engine.platform import initialise

    try:
        db = initialise(Settings.from_env())
        created = create_demo(db)
        created += populate_demo(db)
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
@click.option("--trusted-key", "trusted_key", metavar="EMPREINTE",
              help="Empreinte SHA-256 de la clé de la plateforme, conservée hors ligne "
                   "(sinon RELAIS_AUDIT_TRUSTED_KEY, sinon le fichier épinglé par « init »).")
@click.option("--witness", "witnesses", multiple=True, type=click.File(encoding="utf-8"),
              help="Point de contrôle exporté (relais audit checkpoint --export) et gardé par "
                   "un partenaire : le journal doit toujours le contenir. Répétable.")
def audit_verify(trusted_key: str | None, witnesses: tuple) -> None:
    """Vérifier toute la chaîne et les points de contrôle signés par la clé de confiance."""
    import json
    import os

    from engine.audit import pin
    from engine.audit import service as audit_service
    from engine.platform import connect

    settings = Settings.from_env()
    try:
        trusted, source = pin.trusted_fingerprints(trusted_key, os.environ,
                                                   settings.master_key_file)
        docs = [json.load(fh) for fh in witnesses]
    except ValueError:
        _fail("témoin illisible : JSON attendu (relais audit checkpoint --export).")
    except RelaisError as exc:
        _fail(exc.message)
    click.echo(f"Clé de confiance ({source}) : {', '.join(trusted)}")
    db = connect(settings)
    with db.unit_of_work() as uow:
        result = audit_service.verify(uow, trusted)
        try:
            problems = [audit_service.witness_problem(uow, doc, trusted) for doc in docs]
        except RelaisError as exc:
            _fail(exc.message)
    if not result.ok:
        click.echo(f"Journal altéré à la ligne {result.first_bad_seq} : {result.reason}.",
                   err=True)
        sys.exit(1)
    for problem in filter(None, problems):
        click.echo(f"Témoin non retrouvé : {problem}.", err=True)
    if any(problems):
        sys.exit(1)
    click.echo(f"Journal intègre : {result.entries} lignes, {result.checkpoints} points "
               f"de contrôle signés vérifiés, {len(docs)} témoin(s) retrouvé(s). "
               f"Queue non couverte : {result.uncovered} ligne(s) après le dernier point "
               "de contrôle.")


@audit.command("checkpoint")
@click.option("--export", "as_export", is_flag=True,
              help="Afficher le point de contrôle le plus récent en JSON, à remettre aux "
                   "partenaires (signé d'abord la tête du journal si elle a avancé).")
def audit_checkpoint(as_export: bool) -> None:
    """Signer la tête actuelle du journal avec la clé de la plateforme."""
    import json

    from engine.audit import service as audit_service
    from engine.db import transaction
    from engine.platform import connect

    db = connect(Settings.from_env())
    try:
        with transaction(db) as uow:
            if as_export:
                doc, cp = audit_service.export_current(uow), None
            else:
                doc, cp = None, audit_service.checkpoint(uow)
    except RelaisError as exc:
        _fail(exc.message)
    if doc is not None:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    elif as_export:
        click.echo("Journal vide.")
    else:
        click.echo(f"Point de contrôle n° {cp.number} signé à la ligne {cp.seq}." if cp
                   else "Journal vide.")



# === Keys and offline envelope verification (engine/keys, engine/documents) ==================
# Key files are PEM: PKCS#8 private keys (`verify --private-key`) and SubjectPublicKeyInfo
# public keys (`keys register-recovery`), as `openssl genpkey -algorithm X25519` and
# `openssl pkey -pubout` write them.

@main.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False))
def deploy(files: tuple[str, ...]) -> None:
    """Valider et déployer une nouvelle version de protocole (.bpmn, .dmn)."""
    from pathlib import Path

    from engine.audit.service import Actor
    from engine.db import transaction
    from engine.platform import connect
    from engine.runtime.service import DeploymentRejected
    from engine.runtime.service import deploy as deploy_model

    db = connect(Settings.from_env())
    contents = {Path(f).name: Path(f).read_bytes() for f in files}
    try:
        with transaction(db) as uow:
            versions = deploy_model(uow, Actor(None, "cli"), contents, source="cli")
    except DeploymentRejected as exc:
        click.echo(exc.message, err=True)
        sys.exit(2)
    except RelaisError as exc:
        _fail(exc.message)
    for v in versions:
        click.echo(f"{v.process_id} : version {v.version} ({v.name})")


def _jobs_for_production():  # -> engine.jobs.runner.Jobs (imports stay lazy)
    from engine.jobs.runner import Jobs
    from engine.platform import connect

    settings = Settings.from_env()
    if not settings.broker_url:
        _fail("RELAIS_BROKER_URL n'est pas défini : en mode embarqué, « relais serve » "
              "exécute déjà le travail de fond.")
    return Jobs(connect(settings), settings.broker_url)


@main.command()
@click.option("--threads", default=4, show_default=True, type=int)
def worker(threads: int) -> None:
    """Exécuter les tâches de fond (courrier Redis ou RabbitMQ)."""
    import signal
    import threading

    from dramatiq import Worker

    jobs = _jobs_for_production()
    running = Worker(jobs.broker, worker_threads=threads, worker_timeout=200)
    running.start()
    click.echo("Relais worker démarré.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    running.stop()


@main.command()
@click.option("--interval", default=1.0, show_default=True, type=float)
def scheduler(interval: float) -> None:
    """Déclencher les minuteries échues et relayer la boîte d'envoi."""
    import signal

    jobs = _jobs_for_production()
    signal.signal(signal.SIGTERM, lambda *_: jobs.stop())
    click.echo("Relais scheduler démarré.")
    jobs.run_scheduler(interval)


@main.group()
def keys() -> None:
    """Annuaire des clés des organisations."""


@keys.command("export-public")
@click.argument("org_slug")
def keys_export_public(org_slug: str) -> None:
    """Afficher l'annuaire signé des clés publiques de ORG_SLUG (JSON)."""
    import json

    from engine.db import transaction
    from engine.identity import service as identity
    from engine.keys import service as keys_service
    from engine.platform import connect

    db = connect(Settings.from_env())
    try:
        with transaction(db) as uow:
            doc = keys_service.export_public(uow, identity.get_organisation(uow, org_slug))
    except RelaisError as exc:
        _fail(exc.message)
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))


@keys.command("rotate")
@click.argument("org_slug")
def keys_rotate(org_slug: str) -> None:
    """Créer de nouvelles clés pour ORG_SLUG ; les anciennes ouvrent encore les envois passés."""
    from engine.audit.service import SYSTEM
    from engine.db import transaction
    from engine.identity import service as identity
    from engine.keys import service as keys_service
    from engine.platform import connect

    db = connect(Settings.from_env())
    try:
        with transaction(db) as uow:
            new = keys_service.rotate(uow, SYSTEM, identity.get_organisation(uow, org_slug))
    except RelaisError as exc:
        _fail(exc.message)
    click.echo(f"Clés de {org_slug} renouvelées : chiffrement {new.encryption.kid}, signature "
               f"{new.signing.kid}. Les anciennes clés restent utilisables pour ouvrir et "
               "vérifier les envois antérieurs ; publiez le nouvel annuaire "
               f"(relais keys export-public {org_slug}).")


@keys.command("register-recovery")
@click.argument("org_slug")
@click.argument("public_key_file", type=click.Path(exists=True, dir_okay=False))
def keys_register_recovery(org_slug: str, public_key_file: str) -> None:
    """Enregistrer la clé publique X25519 de recouvrement (PEM) de ORG_SLUG."""
    from pathlib import Path

    from engine.audit.service import SYSTEM
    from engine.db import transaction
    from engine.identity import service as identity
    from engine.keys import service as keys_service
    from engine.platform import connect

    db = connect(Settings.from_env())
    try:
        raw = keys_service.recovery_key_from_pem(Path(public_key_file).read_bytes())
        with transaction(db) as uow:
            pair = keys_service.register_recovery_key(
                uow, SYSTEM, identity.get_organisation(uow, org_slug), raw)
    except RelaisError as exc:
        _fail(exc.message)
    click.echo(f"Clé de recouvrement {pair.kid} enregistrée pour {org_slug} (empreinte "
               f"SHA-256 {keys_service.fingerprint(pair.public_key)}).")


@main.command()
@click.argument("envelope_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--private-key", "private_key_file", type=click.Path(exists=True, dir_okay=False),
              help="Clé privée X25519 du destinataire (PEM PKCS#8) : déchiffre le document.")
@click.option("--directory", "directory_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False),
              help="Annuaire de clés exporté (relais keys export-public), répétable ; "
                   "sans annuaire, les clés de la base locale.")
@click.option("--platform-key", "platform_keys", multiple=True, metavar="EMPREINTE",
              help="Empreinte SHA-256 de la clé de la plateforme, obtenue hors ligne : "
                   "l'annuaire doit être signé par elle (répétable).")
@click.option("--platform-key-file", envvar="RELAIS_PLATFORM_KEY_FILE",
              type=click.Path(exists=True, dir_okay=False),
              help="Fichier d'empreintes épinglées (une par ligne) ; "
                   "ou la variable RELAIS_PLATFORM_KEY_FILE.")
@click.option("--trust-directory-key", is_flag=True,
              help="Faire confiance à la clé de plateforme contenue dans l'annuaire, sans "
                   "épinglage (déconseillé : n'importe qui peut signer un annuaire).")
@click.option("--output", "output_file", type=click.Path(dir_okay=False),
              help="Où écrire le document déchiffré (mode 0600 ; par défaut : la sortie "
                   "standard).")
def verify(envelope_file: str, private_key_file: str | None, directory_files: tuple[str, ...],
           platform_keys: tuple[str, ...], platform_key_file: str | None,
           trust_directory_key: bool, output_file: str | None) -> None:
    """Vérifier hors ligne la signature et l'intégrité d'une enveloppe .relais (0 : valide,
    1 : invalide, avec la raison). Un annuaire n'est cru que signé par une clé de plateforme
    épinglée (--platform-key ou --platform-key-file), sauf --trust-directory-key."""
    from pathlib import Path

    from sqlalchemy.exc import SQLAlchemyError

    from engine.documents import envelope
    from engine.documents.errors import EnvelopeInvalid
    from engine.keys import offline
    from engine.platform import write_private

    path = Path(envelope_file)
    trust = None
    try:
        key = offline.load_private_key(Path(private_key_file).read_bytes()) \
            if private_key_file else None
        if path.stat().st_size > envelope.MAX_CIPHERTEXT + 2 * envelope.MAX_MANIFEST:
            raise EnvelopeInvalid("oversized", "Fichier trop volumineux pour une enveloppe.")
        if directory_files:
            pinned = offline.pinned_fingerprints(platform_keys, platform_key_file)
            if not pinned and not trust_directory_key:
                _fail("un annuaire ne prouve rien sans la clé de la plateforme qui l'a signé : "
                      "donnez son empreinte obtenue hors ligne (--platform-key EMPREINTE, "
                      "--platform-key-file ou RELAIS_PLATFORM_KEY_FILE), ou, en connaissance "
                      "de cause, --trust-directory-key.")
            trust = offline.lookup_from_directories(
                (Path(p).read_text(encoding="utf-8") for p in directory_files), pinned or None)
            result = offline.verify(path.read_bytes(), trust.lookup, key)
        else:
            result = _verify_with_database_keys(path.read_bytes(), key)
    except EnvelopeInvalid as exc:
        _fail(f"enveloppe invalide — {exc.message}", 1)
    except RelaisError as exc:
        _fail(exc.message, 1 if exc.code in ("directory_invalid", "platform_key_mismatch")
              else 2)
    except SQLAlchemyError:
        _fail("base locale inaccessible : lancez « relais init » ou vérifiez avec "
              "--directory un annuaire exporté.")
    report = result.summary() if trust is None else f"{trust.describe()}\n{result.summary()}"
    if result.content is None:
        click.echo(report)
    elif output_file:
        write_private(Path(output_file), result.content)  # a decrypted document: 0600
        click.echo(f"{report} Document déchiffré écrit dans {output_file} (lisible par vous "
                   "seul).")
    else:
        click.echo(report, err=True)
        click.echo(result.content, nl=False)


def _verify_with_database_keys(blob: bytes, key):  # -> offline.Verified (imports stay lazy)
    """`offline.verify` with the signing keys of the local database (read only)."""
    from engine.keys import offline
    from engine.keys import service as keys_service
    from engine.platform import connect

    db = connect(Settings.from_env())
    try:
        with db.unit_of_work() as uow:
            return offline.verify(blob, keys_service.public_key_lookup(uow), key)
    finally:
        db.dispose()


for _command in (operations.bench, operations.retention, operations.backup, operations.restore,
                 operations.check, operations.figures):
    main.add_command(_command)

if __name__ == "__main__":
    main()
