// Builds the modeler bundle into engine/web/static/vendor/ (run by `npm run build`, which
// ops/_setup.sh calls after `npm ci`): relais-bpmn.js (bpmn-js, its properties panel and
// bpmnlint, exposed as window.RelaisBpmn), relais-bpmn.css, the BPMN icon font, and
// relais-diff.js (bpmn-js-differ, exposed as window.RelaisDiff).
import * as esbuild from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..', '..');

// Relais' Content-Security-Policy (style-src 'self') blocks inline style attributes. The
// properties panel writes two into HTML markup; they are removed here and their rules live
// in engine/web/static/modeler.css. If an upgrade changes that markup, the build fails
// rather than letting the browser report CSP violations.
const PROPERTIES_PANEL = /bpmn-js-properties-panel[\\/]dist[\\/]index\.esm\.js$/;
const PATCHES = [
  [ '<div style="height: 100%" tabindex="-1" class="bio-properties-panel-container">',
    '<div tabindex="-1" class="bio-properties-panel-container">' ],
  [ '<div style="flex: none; height: auto" class="bio-properties-panel bio-theme-parent ' +
      'bio-properties-panel-header-container">',
    '<div class="bio-properties-panel bio-theme-parent bio-properties-panel-header-container">' ]
];

const withoutInlineStyles = {
  name: 'relais-csp-inline-styles',
  setup(build) {
    build.onLoad({ filter: PROPERTIES_PANEL }, async (args) => {
      let code = await readFile(args.path, 'utf8');
      for (const [ from, to ] of PATCHES) {
        if (code.split(from).length !== 2) {
          throw new Error(`${args.path}: expected exactly one "${from}" (CSP patch outdated)`);
        }
        code = code.replace(from, to);
      }
      if (/domify\('<[^']*\sstyle="/.test(code)) {
        throw new Error(`${args.path}: markup with an inline style attribute (CSP)`);
      }
      return { contents: code, loader: 'js' };
    });
  }
};

await esbuild.build({
  absWorkingDir: root,
  entryPoints: [
    join(here, 'relais-bpmn.js'),
    join(here, 'relais-bpmn.css'),
    // The "what changed" page's semantic diff (bpmn-js-differ), a separate small bundle.
    join(here, 'relais-diff.js')
  ],
  outdir: join(root, 'engine', 'web', 'static', 'vendor'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  assetNames: '[name]',
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  legalComments: 'linked',
  logLevel: 'warning',
  plugins: [ withoutInlineStyles ]
});
