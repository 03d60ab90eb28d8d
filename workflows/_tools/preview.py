"""Open diagrams in bpmn-js — the modeler's own bundle, in Debian's Chromium — and report what
it drew; with `--png DIR`, also save a picture of each (to check a layout by eye):

    .venv/bin/python workflows/_tools/preview.py workflows/*/*.bpmn --png /tmp/apercus

Prints one JSON object: file → {warnings, participants, lanes, shapes, edges} (or {error}).
Needs Chromium (/usr/bin/chromium), the `playwright` package and the built bundle
(`npm run build`, done by ops/_setup.sh).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
BUNDLE = ROOT / "engine" / "web" / "static" / "vendor" / "relais-bpmn.js"
STYLES = ROOT / "engine" / "web" / "static" / "vendor" / "relais-bpmn.css"
IMPORT = """async (xml) => {
    const viewer = new window.RelaisBpmn.NavigatedViewer({container: '#canvas'});
    try {
      const imported = await viewer.importXML(xml);
      viewer.get('canvas').zoom('fit-viewport');
      const all = viewer.get('elementRegistry').getAll();
      const count = (type) => all.filter((e) => e.type === type).length;
      return {warnings: imported.warnings.map((w) => w.message),
              participants: count('bpmn:Participant'), lanes: count('bpmn:Lane'),
              shapes: all.filter((e) => !e.waypoints && e.type !== 'label').length,
              edges: all.filter((e) => e.waypoints).length};
    } catch (error) {
      return {error: String(error)};
    }
  }"""


def preview(files: list[Path], png: Path | None = None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    report: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--headless", "--no-sandbox",
                                                   "--disable-gpu"])
        for path in files:
            page = browser.new_page(viewport={"width": 2400, "height": 1400})
            page.set_content("<html><head><style>" + STYLES.read_text(encoding="utf-8")
                             + " html,body,#canvas{width:100%;height:100%;margin:0}</style>"
                             "</head><body><div id='canvas'></div></body></html>")
            page.add_script_tag(content=BUNDLE.read_text(encoding="utf-8"))
            report[str(path)] = page.evaluate(IMPORT, path.read_text(encoding="utf-8"))
            if png is not None:
                png.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(png / f"{path.stem}.png"))
            page.close()
        browser.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--png", type=Path, default=None)
    args = parser.parse_args()
    print(json.dumps(preview(args.files, args.png), ensure_ascii=False))


if __name__ == "__main__":
    main()
