"""The readable table `relais bench` prints (French, for the operator)."""

from __future__ import annotations

from typing import Any

from engine.bench.common import USER


def _yes_no(met: bool | None) -> str:
    return "—" if met is None else ("atteint" if met else "MANQUÉ")


def format_table(report: dict[str, Any]) -> str:
    steps = report["parameters"]["steps"]
    m = report["machine"]
    lines = [
        f"Relais bench — {report['date']}",
        f"Machine : {m['nproc']} cœur(s), {m['cpu']}, {m['memory']} ; Python {m['python']}, "
        f"SpiffWorkflow {m['spiffworkflow']} ; charge (1/5/15 min) au début "
        f"{m['load_average_at_start']}, à la fin {m.get('load_average_at_end')}",
        f"Protocole : {report['parameters']['diagram']} (boucle standard), {steps} étapes.",
        "« étape 1 » : médiane des étapes {1}-{2} (pour le moteur, d'une instance neuve dont "
        "chaque étape alterne avec une étape tardive) ; « étape {0} » : médiane des étapes "
        "{3}-{4}.".format(steps, *report["raw"]["windows"][0], *report["raw"]["windows"][1]),
        "Bases : " + ", ".join(f"{b} {f['server_version']}" for b, f in report["engine"].items()
                               if "skipped" not in f),
        "",
    ]
    header = f"{'':26}{'médiane/étape':>14}{'étape 1':>10}{f'étape {steps}':>11}" \
             f"{'croissance':>12}{'état 3':>9}{f'état {steps}':>11}"
    lines.append(header)

    def row(label: str, median: float, first: float, last: float, growth: float,
            state_3: object = "", state_n: object = "") -> str:
        return (f"{label:26}{median:>11.2f} ms{first:>7.2f} ms{last:>8.2f} ms{growth:>11.2f}x"
                f"{state_3!s:>9}{state_n!s:>11}").rstrip()

    for label, f in (("SpiffWorkflow seul (raw)", report["raw"]),
                     ("façade spiff.py seule", report["raw_facade"])):
        lines.append(row(label, f["step_ms_median"], f["step1_ms"], f["stepN_ms"], f["growth"],
                         f["state_bytes_3"], f[f"state_bytes_{steps}"]))
    for backend, f in report["engine"].items():
        if "skipped" in f:
            lines.append(f"moteur {backend:19} ignoré : {f['skipped']}")
            continue
        lines.append(row(f"moteur {backend}", f["step_ms_median"], f["step1_ms"], f["stepN_ms"],
                         f["growth"], f["state_bytes_3"], f[f"state_bytes_{steps}"]))
        lines.append(row("  raw entrelacé", f["raw_step_ms_median"], f["raw_step1_ms"],
                         f["raw_stepN_ms"], f["raw_growth"]))
        r = report["ratio"][backend]
        lines.append(f"  rapport moteur ÷ raw : {r['value']:g} (étape 1 : {r['step1']:g}, "
                     f"étape {steps} : {r['stepN']:g}) ; croissance séquentielle "
                     f"{f['growth_sequential']:g}x")
    lines.append("")
    for backend, f in report["engine"].items():
        if "skipped" in f:
            continue
        lines.append(f"Où va le temps d'une étape ({backend}, ms, étape 1 → étape {steps}) :")
        early, late = f["breakdown_ms"]["step1"], f["breakdown_ms"]["stepN"]
        buckets = [k for k in late if k not in {"total", "sql_time", "sql_statements"}]
        for key in sorted(buckets, key=lambda k: -late[k]):
            lines.append(f"  {key:28}{early.get(key, 0):>8.2f} → {late[key]:>7.2f}")
        lines.append(f"  {'total (médiane)':28}{early['total']:>8.2f} → {late['total']:>7.2f}")
        lines.append(f"  {'dont SQL':28}{early['sql_time']:>8.2f} → {late['sql_time']:>7.2f}   "
                     f"({early['sql_statements']:g} → {late['sql_statements']:g} requêtes)")
        t = f["tasklist"]
        lines.append(f"Liste de tâches ({backend}, {t['instances']} instances, "
                     f"{t['human_tasks']} tâches, {t['user_ready_tasks']} prêtes pour {USER}) : "
                     f"ready_tasks p50 {t['ready_tasks']['p50_ms']:.2f} ms, p95 "
                     f"{t['ready_tasks']['p95_ms']:.2f} ms ; worklist p50 "
                     f"{t['worklist']['p50_ms']:.2f} ms, p95 {t['worklist']['p95_ms']:.2f} ms")
        lines.append(f"  plan : {t['ready_tasks_plan'][:160]}")
        a = t["api"]
        lines.append(f"  par l'API (GET /api/v1/tasks) : première page p50 "
                     f"{a['first_page']['p50_ms']:.2f} ms, p95 {a['first_page']['p95_ms']:.2f} ms"
                     f" ; page profonde p50 {a['deep_page']['p50_ms']:.2f} ms, p95 "
                     f"{a['deep_page']['p95_ms']:.2f} ms")
        m, c = f["messages"], f["api_complete"]
        lines.append(f"POST /messages ({backend}, {m['instances']} instances en attente, "
                     f"{m['delivered']}/{m['posted']} remis) : p50 {m['p50_ms']:.2f} ms, "
                     f"p95 {m['p95_ms']:.2f} ms")
        lines.append(f"POST /tasks/{{id}}/complete ({backend}, étape 1, temps serveur) : p50 "
                     f"{c['p50_ms']:.2f} ms, p95 {c['p95_ms']:.2f} ms, "
                     f"{c['sql_statements']:g} requêtes SQL")
        fig = f["figures"]
        lines.append(f"Chiffres d'une année ({backend}, {fig['situations']} personnes reçues, "
                     f"{fig['fact_rows']} faits, {fig['indicators']} indicateurs) : p50 "
                     f"{fig['p50_ms']:.1f} ms, p95 {fig['p95_ms']:.1f} ms")
        ws = f.get("workspace")
        if ws:
            for label, key in (("données de démonstration", "pages_demo"),
                               (f"{ws['situations']} situations", "pages")):
                shown = ", ".join(f"{k[:-3]} {v:.0f}" for k, v in ws[key].items()
                                  if "_p50" not in k)
                lines.append(f"Pages ({backend}, {label}, p95 ms) : {shown}")
            lines.append(f"Recherche par nom ({backend}, {ws['search']['situations']} "
                         f"situations) : p50 {ws['search']['p50_ms']:.1f} ms, p95 "
                         f"{ws['search']['p95_ms']:.1f} ms")
        lines.append("")
    load = report.get("load")
    if load and "skipped" in load:
        lines.append(f"Charge : ignorée ({load['skipped']})")
    elif load:
        lines.append(f"Charge ({load['clients']} clients, {load['seconds']:g} s, {load['flow']}) : "
                     f"{load['flows_per_s_1']} parcours/s avec 1 processus web, "
                     f"{load['flows_per_s_n']} avec {load['workers_n']} "
                     f"(×{load['scale_ratio']}), {load['errors']} erreur(s)")
        for run in load["runs"]:
            for name, e in run["endpoints"].items():
                lines.append(f"  {run['workers']} proc. {name:28} p50 {e['p50_ms']:.1f} ms, "
                             f"p95 {e['p95_ms']:.1f} ms ({e['requests']} requêtes)")
    d = report["documents"]
    lines.append(f"Enveloppes : {d['envelope_small_bytes'] / 1024:g} Kio pour "
                 f"{d['envelope_recipients']} destinataires, scellement+ouverture médiane "
                 f"{d['envelope_small_seal_open_ms']:.2f} ms ; "
                 f"{d['envelope_large_bytes'] / 2**20:g} Mio : {d['envelope_large_mb_s']} Mo/s, "
                 f"AES-GCM brut {d['raw_aes_gcm_mb_s']} Mo/s, rapport "
                 f"{d['envelope_throughput_ratio']}")
    lines.append("")
    lines.append("Objectifs :")
    for t in report["targets"]:
        extra = f" ({t['note']})" if t.get("note") else ""
        lines.append(f"  {t['name']:27}{t['backend']:12}{t['value']!s:>10}  cible {t['target']:8}"
                     f"{_yes_no(t['met'])}{extra}")
    return "\n".join(lines)
