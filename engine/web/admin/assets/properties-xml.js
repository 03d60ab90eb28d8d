// Reading and writing the XML that Relais executes (engine/runtime/rules.py, loader.py):
//
//   <bpmn:extensionElements>
//     <spiffworkflow:properties>
//       <spiffworkflow:property name="formJsonSchemaFilename" value="vc_fiche.json"/>
//       <spiffworkflow:property name="prefill.purposes" value="['vc_transmission']"/>
//     </spiffworkflow:properties>
//     <spiffworkflow:serviceTaskOperator id="relais/transmit_document" resultVariable="r">
//       <spiffworkflow:parameters>
//         <spiffworkflow:parameter id="template" type="str" value="'fiche.docx'"/>
//       </spiffworkflow:parameters>
//     </spiffworkflow:serviceTaskOperator>
//   </bpmn:extensionElements>
//
// Every change goes through bpmn-js commands (one undoable step per edit), built as a list for
// the properties panel's multi-command executor.
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

export const FORM_PROPERTY = 'formJsonSchemaFilename';

function update(element, moddleElement, properties) {
  return { cmd: 'element.updateModdleProperties', context: { element, moddleElement, properties } };
}

function run(injector, commands) {
  if (commands.length) {
    injector.get('commandStack').execute('properties-panel.multi-command-executor', commands);
  }
}

export function extensionOf(element, type) {
  const extensions = getBusinessObject(element).get('extensionElements');
  const values = extensions ? extensions.get('values') : [];
  return values.find((value) => is(value, type)) || null;
}

// The extension element of `type`, created (with its commands) when missing.
function ensureExtension(injector, element, type, attrs, commands) {
  const existing = extensionOf(element, type);
  if (existing) {
    return existing;
  }
  const moddle = injector.get('moddle');
  const bo = getBusinessObject(element);
  let extensions = bo.get('extensionElements');
  if (!extensions) {
    extensions = moddle.create('bpmn:ExtensionElements', { values: [] });
    extensions.$parent = bo;
    commands.push(update(element, bo, { extensionElements: extensions }));
  }
  const created = moddle.create(type, attrs);
  created.$parent = extensions;
  commands.push(update(element, extensions, { values: [ ...extensions.get('values'), created ] }));
  return created;
}

// --- spiffworkflow:property (form, prefill.*, allowed.*) -----------------------------------

export function getProperty(element, name) {
  const properties = extensionOf(element, 'spiffworkflow:Properties');
  const found = properties && properties.get('properties').find((p) => p.name === name);
  return found ? found.value : undefined;
}

export function setProperty(injector, element, name, value) {
  const commands = [];
  const empty = value === undefined || value === null || value === '';
  const current = extensionOf(element, 'spiffworkflow:Properties');
  if (empty && !current) {
    return;
  }
  const properties = current ||
    ensureExtension(injector, element, 'spiffworkflow:Properties', { properties: [] }, commands);
  const list = properties.get('properties');
  const found = list.find((p) => p.name === name);
  if (empty) {
    if (found) {
      commands.push(update(element, properties, { properties: list.filter((p) => p !== found) }));
    }
  } else if (found) {
    commands.push(update(element, found, { value }));
  } else {
    const created = injector.get('moddle').create('spiffworkflow:Property', { name, value });
    created.$parent = properties;
    commands.push(update(element, properties, { properties: [ ...list, created ] }));
  }
  run(injector, commands);
}

// --- spiffworkflow:serviceTaskOperator -----------------------------------------------------

export function getOperator(element) {
  return extensionOf(element, 'spiffworkflow:ServiceTaskOperator');
}

export function getParameters(element) {
  const operator = getOperator(element);
  const list = operator && operator.get('parameterList');
  return list ? list.get('parameters') : [];
}

// Choosing a connector writes its id; the required parameters missing are added, empty, so
// that the administrator sees what to fill in (deployment refuses an empty value).
export function setConnector(injector, element, connector) {
  const commands = [];
  const operator = ensureExtension(injector, element, 'spiffworkflow:ServiceTaskOperator',
    { id: connector ? connector.id : '' }, commands);
  if (getOperator(element)) {
    commands.push(update(element, operator, { id: connector ? connector.id : '' }));
  }
  const list = ensureParameterList(injector, element, operator, commands);
  const present = new Set(list.get('parameters').map((p) => p.id));
  const added = (connector ? connector.parameters : [])
    .filter((p) => p.required && !present.has(p.name))
    .map((p) => newParameter(injector, list, p.name, p.type, ''));
  if (added.length) {
    commands.push(update(element, list, { parameters: [ ...list.get('parameters'), ...added ] }));
  }
  run(injector, commands);
}

export function setResultVariable(injector, element, value) {
  const commands = [];
  const operator = ensureExtension(injector, element, 'spiffworkflow:ServiceTaskOperator',
    { id: '' }, commands);
  commands.push(update(element, operator, { resultVariable: value || undefined }));
  run(injector, commands);
}

function ensureParameterList(injector, element, operator, commands) {
  let list = operator.get('parameterList');
  if (!list) {
    list = injector.get('moddle').create('spiffworkflow:Parameters', { parameters: [] });
    list.$parent = operator;
    commands.push(update(element, operator, { parameterList: list }));
  }
  return list;
}

function newParameter(injector, list, id, type, value) {
  const created = injector.get('moddle').create('spiffworkflow:Parameter', { id, type, value });
  created.$parent = list;
  return created;
}

export function addParameter(injector, element, name, type) {
  const commands = [];
  const operator = ensureExtension(injector, element, 'spiffworkflow:ServiceTaskOperator',
    { id: '' }, commands);
  const list = ensureParameterList(injector, element, operator, commands);
  const created = newParameter(injector, list, name, type || 'str', '');
  commands.push(update(element, list, { parameters: [ ...list.get('parameters'), created ] }));
  run(injector, commands);
  return created;
}

export function updateParameter(injector, element, parameter, properties) {
  run(injector, [ update(element, parameter, properties) ]);
}

export function removeParameter(injector, element, parameter) {
  const list = parameter.$parent;
  run(injector, [ update(element, list, {
    parameters: list.get('parameters').filter((p) => p !== parameter)
  }) ]);
}

// --- bodies: a script task's script, a sequence flow's condition ----------------------------

export function getCondition(element) {
  const condition = getBusinessObject(element).get('conditionExpression');
  return condition ? condition.get('body') || '' : '';
}

export function setCondition(injector, element, value) {
  const bo = getBusinessObject(element);
  let expression;
  if (value && value.trim()) {
    expression = injector.get('moddle').create('bpmn:FormalExpression', { body: value });
    expression.$parent = bo;
  }
  run(injector, [ update(element, bo, { conditionExpression: expression }) ]);
}

export function getScript(element) {
  return getBusinessObject(element).get('script') || '';
}

export function setScript(injector, element, value) {
  const bo = getBusinessObject(element);
  run(injector, [ update(element, bo, { script: value || undefined }) ]);
}

// --- lanes -----------------------------------------------------------------------------------

// The lane a flow node is drawn in (its role, for Relais), or null.
export function laneOf(injector, element) {
  const bo = getBusinessObject(element);
  const lanes = injector.get('elementRegistry').filter((shape) => is(shape, 'bpmn:Lane'));
  return lanes.find((lane) => (getBusinessObject(lane).get('flowNodeRef') || []).includes(bo)) ||
    null;
}

export function setName(injector, element, name) {
  injector.get('modeling').updateLabel(element, name);
}

// --- Python list literals of codes (consent prefill): "['a', 'b']" ⇄ ['a', 'b'] ------------

export function parseCodes(value) {
  if (!value) {
    return [];
  }
  const found = [];
  value.replace(/'([^']*)'|"([^"]*)"/g, (whole, single, double) => {
    found.push(single !== undefined ? single : double);
    return whole;
  });
  return found;
}

export function formatCodes(codes) {
  return codes.length ? '[' + codes.map((c) => '\'' + c + '\'').join(', ') + ']' : '';
}
