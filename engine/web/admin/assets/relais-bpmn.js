// Entry point of the modeler bundle, built by `npm run build` (ops/_setup.sh) with esbuild into
// engine/web/static/vendor/relais-bpmn.js. It only gathers the bpmn.io packages and exposes
// them as `window.RelaisBpmn`; the page logic lives in engine/web/static/modeler.js.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import BpmnNavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule
} from 'bpmn-js-properties-panel';
import lintModule from 'bpmn-js-bpmnlint';
import StaticResolver from 'bpmnlint/lib/resolver/static-resolver';
import recommended from 'bpmnlint/config/recommended';

import preserveDiModule from './preserve-di.js';
import { frenchImportMessage } from './import-messages.js';
import frenchModule, { missing as missingTranslations, translate } from './i18n-fr.js';
import relaisPropertiesModule from './properties-provider.js';
import spiffworkflowModdle from './properties-moddle.json';

import adHocSubProcess from 'bpmnlint/rules/ad-hoc-sub-process';
import conditionalFlows from 'bpmnlint/rules/conditional-flows';
import endEventRequired from 'bpmnlint/rules/end-event-required';
import eventBasedGateway from 'bpmnlint/rules/event-based-gateway';
import eventSubProcessTypedStartEvent from 'bpmnlint/rules/event-sub-process-typed-start-event';
import fakeJoin from 'bpmnlint/rules/fake-join';
import global from 'bpmnlint/rules/global';
import labelRequired from 'bpmnlint/rules/label-required';
import linkEvent from 'bpmnlint/rules/link-event';
import noBpmndi from 'bpmnlint/rules/no-bpmndi';
import noComplexGateway from 'bpmnlint/rules/no-complex-gateway';
import noDisconnected from 'bpmnlint/rules/no-disconnected';
import noDuplicateSequenceFlows from 'bpmnlint/rules/no-duplicate-sequence-flows';
import noGatewayJoinFork from 'bpmnlint/rules/no-gateway-join-fork';
import noImplicitSplit from 'bpmnlint/rules/no-implicit-split';
import noImplicitEnd from 'bpmnlint/rules/no-implicit-end';
import noImplicitStart from 'bpmnlint/rules/no-implicit-start';
import noInclusiveGateway from 'bpmnlint/rules/no-inclusive-gateway';
import noOverlappingElements from 'bpmnlint/rules/no-overlapping-elements';
import singleBlankStartEvent from 'bpmnlint/rules/single-blank-start-event';
import singleEventDefinition from 'bpmnlint/rules/single-event-definition';
import startEventRequired from 'bpmnlint/rules/start-event-required';
import subProcessBlankStartEvent from 'bpmnlint/rules/sub-process-blank-start-event';
import superfluousGateway from 'bpmnlint/rules/superfluous-gateway';
import superfluousLabel from 'bpmnlint/rules/superfluous-label';
import superfluousTermination from 'bpmnlint/rules/superfluous-termination';

// bpmnlint's "recommended" rules, packed for the browser the way bpmnlint-loader would.
const RULES = {
  'ad-hoc-sub-process': adHocSubProcess,
  'conditional-flows': conditionalFlows,
  'end-event-required': endEventRequired,
  'event-based-gateway': eventBasedGateway,
  'event-sub-process-typed-start-event': eventSubProcessTypedStartEvent,
  'fake-join': fakeJoin,
  'global': global,
  'label-required': labelRequired,
  'link-event': linkEvent,
  'no-bpmndi': noBpmndi,
  'no-complex-gateway': noComplexGateway,
  'no-disconnected': noDisconnected,
  'no-duplicate-sequence-flows': noDuplicateSequenceFlows,
  'no-gateway-join-fork': noGatewayJoinFork,
  'no-implicit-split': noImplicitSplit,
  'no-implicit-end': noImplicitEnd,
  'no-implicit-start': noImplicitStart,
  'no-inclusive-gateway': noInclusiveGateway,
  'no-overlapping-elements': noOverlappingElements,
  'single-blank-start-event': singleBlankStartEvent,
  'single-event-definition': singleEventDefinition,
  'start-event-required': startEventRequired,
  'sub-process-blank-start-event': subProcessBlankStartEvent,
  'superfluous-gateway': superfluousGateway,
  'superfluous-label': superfluousLabel,
  'superfluous-termination': superfluousTermination
};

const cache = { 'config:bpmnlint/recommended': recommended };
for (const [name, rule] of Object.entries(RULES)) {
  cache['rule:bpmnlint/' + name] = rule;
}

// Every diagram reads and writes the spiffworkflow extensions Relais executes, and speaks
// French: the French module comes last, so it wins over any translate module a page adds.
function relais(options) {
  const given = options || {};
  return Object.assign({}, given, {
    moddleExtensions: Object.assign({ spiffworkflow: spiffworkflowModdle },
      given.moddleExtensions),
    additionalModules: (given.additionalModules || []).concat([ frenchModule ])
  });
}

class Modeler extends BpmnModeler {
  constructor(options) {
    super(relais(options));
  }
}

class NavigatedViewer extends BpmnNavigatedViewer {
  constructor(options) {
    super(relais(options));
  }
}

window.RelaisBpmn = {
  Modeler,
  NavigatedViewer,
  translate,
  missingTranslations,
  frenchImportMessage,
  propertiesPanelModules: [
    BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, relaisPropertiesModule
  ],
  preserveDiModule,
  lintModule,
  lintConfig: {
    config: { extends: 'bpmnlint:recommended' },
    resolver: new StaticResolver(cache)
  }
};
