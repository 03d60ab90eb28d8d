// Entry point of the diff bundle (engine/web/static/vendor/relais-diff.js): bpmn-js-differ's
// semantic BPMN diff, exposed as window.RelaisDiff for engine/web/static/diff.js. The
// diagrams themselves are read by the viewer of relais-bpmn.js (its moddle definitions).
import { diff } from 'bpmn-js-differ';

window.RelaisDiff = { diff };
