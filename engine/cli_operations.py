"""`relais` commands for operating an installation: benchmarks, retention, backup and
restore, the integrity check and the activity figures (registered on `relais` by
engine/cli.py). Commands parse arguments, call services and report; nothing more."""

from __future__ import annotations

import sys

import click

from engine.cli_support import fail as _fail
from engine.config import Settings
from engine.errors import RelaisError


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Rapport JSON sur la sortie standard.")
@click.option("--steps", default=200, show_default=True, type=click.IntRange(3, 990),
              help="Étapes de l'instance au long cours.")
@click.option("--tasklist-instances", default=100_000, show_default=True,
              type=click.IntRange(1, None), help="Instances insérées pour la liste de tâches.")
@click.option("--sqlite-tasklist-instances", type=click.IntRange(1, None), default=None,
              help="Instances de la liste de tâches sur SQLite (défaut : comme PostgreSQL).")
@click.option("--messages-instances", default=100_000, show_default=True,
              type=click.IntRange(1, None),
              help="Instances en attente d'un message pour POST /messages (SQLite : au plus "
                   "20 000 par défaut).")
@click.option("--load", "load_seconds", type=click.FloatRange(1, 600), default=None,
              help="Mesurer aussi la charge par HTTP pendant SECONDES (PostgreSQL et Redis).")
@click.option("--clients", default=20, show_default=True, type=click.IntRange(1, 200),
              help="Clients simultanés de la mesure de charge.")
@click.option("--web-workers", default=5, show_default=True, type=click.IntRange(2, 64),
              help="Processus web de la seconde mesure de charge (la première en a un).")
def bench(as_json: bool, steps: int, tasklist_instances: int,
          sqlite_tasklist_instances: int | None, messages_instances: int,
          load_seconds: float | None, clients: int, web_workers: int) -> None:
    """Mesurer le moteur (SpiffWorkflow seul, couche de services sur SQLite et, si configuré,
    PostgreSQL), la liste de tâches et les enveloppes, sur des bases jetables (voir
    docs/benchmarks.md)."""
    import json

    from engine import bench as suite

    try:
        load = {"broker_url": suite.broker_url(), "seconds": load_seconds, "clients": clients,
                "workers": web_workers} if load_seconds else None
        report = suite.run(steps=steps, tasklist_instances=tasklist_instances,
                           sqlite_tasklist_instances=sqlite_tasklist_instances,
                           messages_instances=messages_instances,
                           postgresql_url=suite.postgresql_server_url(),
                           progress=lambda message: click.echo(message, err=True), load=load)
    except RelaisError as exc:
        _fail(exc.message)
    click.echo(json.dumps(report, indent=2, ensure_ascii=False) if as_json
               else suite.format_table(report))


@click.command()
@click.option("--dry-run", is_flag=True, help="Montrer ce qui est échu sans rien détruire.")
@click.option("--json", "as_json", is_flag=True, help="Rapport JSON sur la sortie standard.")
def retention(dry_run: bool, as_json: bool) -> None:
    """Détruire (effacement cryptographique) les situations dont la durée de conservation est
    échue ; avec --dry-run, seulement les lister. Journalisé dans les deux cas."""
    import json

    from engine.audit.service import Actor
    from engine.db import transaction
    from engine.dossiers import rights
    from engine.platform import connect

    db = connect(Settings.from_env())
    try:
        with transaction(db) as uow:
            sweep = rights.sweep_retention(uow, Actor(None, "cli"), dry_run=dry_run)
    except RelaisError as exc:
        _fail(exc.message)
    if as_json:
        click.echo(json.dumps({"at": sweep.at.isoformat(), "dry_run": dry_run,
                               "due": [item.as_dict() for item in sweep.due],
                               "shredded": list(sweep.shredded)}, indent=2))
        return
    for item in sweep.due:
        state = "conservée (instance en cours)" if item.held else (
            "à détruire" if dry_run else "détruite")
        click.echo(f"{item.reference}  {item.organisation}  dernière activité "
                   f"{item.last_activity_at:%Y-%m-%d}  conservation {item.retention_days} j  "
                   f"échue le {item.due_at:%Y-%m-%d}  {state}")
    verb = "seraient détruites" if dry_run else "détruites"
    click.echo(f"{len(sweep.due)} situation(s) échue(s) ; "
               f"{len(sweep.due) - len(sweep.held)} {verb} ; {len(sweep.held)} conservée(s) "
               "tant qu'une instance est en cours.")


# === Backup, restore and the integrity check (engine/backup.py) ==============================

@click.command()
@click.argument("destination", type=click.Path(file_okay=False))
@click.option("--master-key-copy", type=click.Path(dir_okay=False),
              help="Écrire aussi une copie de la clé maîtresse ici (autre support, hors ligne).")
def backup(destination: str, master_key_copy: str | None) -> None:
    """Sauvegarder la base et la configuration dans un dossier neuf (sans la clé maîtresse)."""
    from pathlib import Path

    from engine import backup as backups

    try:
        manifest = backups.backup(Settings.from_env(), Path(destination),
                                  master_key_copy=Path(master_key_copy) if master_key_copy
                                  else None)
    except RelaisError as exc:
        _fail(exc.message)
    head = manifest["audit_head"]
    click.echo(f"Sauvegarde écrite dans {destination} ({manifest['dialect']}, schéma "
               f"{manifest['schema_revision']}, journal jusqu'à la ligne "
               f"{head['seq'] if head else 0}).")
    click.echo("La clé maîtresse n'y est pas : sans elle la sauvegarde n'ouvre rien. Gardez-en "
               "une copie hors ligne, séparément" + (
                   f" (copie écrite : {master_key_copy})." if master_key_copy else "."))


@click.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False))
def restore(source: str) -> None:
    """Restaurer une sauvegarde dans la base configurée (vide), puis tout vérifier."""
    from pathlib import Path

    from engine import backup as backups
    from engine.platform import connect

    settings = Settings.from_env()
    try:
        backups.restore(settings, Path(source))
    except RelaisError as exc:
        _fail(exc.message)
    click.echo(f"Sauvegarde restaurée dans la base {settings.dialect}.")
    _report_check(backups.check(connect(settings)))


@click.command()
def check() -> None:
    """Vérifier que tout se lit : situations, documents conservés, journal d'audit."""
    from engine import backup as backups
    from engine.platform import connect

    _report_check(backups.check(connect(Settings.from_env())))


def _report_check(report) -> None:  # engine.backup.CheckReport (imports stay lazy)
    click.echo(f"{report.cases} situation(s) lisible(s) ({report.records} enregistrement(s)), "
               f"{report.destroyed_cases} détruite(s) ; {report.deliveries} document(s) "
               f"vérifié(s) ; journal : {report.audit_entries} ligne(s).")
    for problem in report.problems:
        click.echo(f"Problème : {problem}", err=True)
    if not report.ok:
        sys.exit(1)


# === Activity figures (engine/figures) ========================================================

@click.command()
@click.option("--period", "period_text", required=True,
              help="2026, 2026-Q3, 2026-09 ou 2026-01..2026-06.")
@click.option("--organisation", "slugs", multiple=True,
              help="Organisation (répétable) ; sinon tout ce que voit --user.")
@click.option("--user", "username", help="Limiter aux organisations que voit cet utilisateur.")
@click.option("--format", "fmt", type=click.Choice(["csv", "ods", "docx", "json"]),
              default="csv", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="Fichier (sinon la sortie "
              "standard, pour csv et json).")
def figures(period_text: str, slugs: tuple[str, ...], username: str | None, fmt: str,
            output: str | None) -> None:
    """Chiffres d'activité (bilan chiffré), petits effectifs masqués."""
    from pathlib import Path

    from engine.figures import reporting
    from engine.platform import connect, write_private

    if fmt in {"ods", "docx"} and not output:
        _fail(f"le format {fmt} s'écrit dans un fichier : ajoutez --output FICHIER.")
    db = connect(Settings.from_env())
    try:
        with db.unit_of_work() as uow:
            content = reporting.produce(uow, period_text=period_text, slugs=list(slugs),
                                        username=username, fmt=fmt)
    except RelaisError as exc:
        _fail(exc.message)
    if output:
        write_private(Path(output), content)
        click.echo(f"Chiffres écrits dans {output}.")
    else:
        click.echo(content.decode("utf-8-sig"), nl=False)
