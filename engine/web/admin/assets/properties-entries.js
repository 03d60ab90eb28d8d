// The entries of the Relais groups of the properties panel (preact components of
// @bpmn-io/properties-panel). Labels are French here: they are Relais' own words.
import {
  CheckboxEntry,
  SelectEntry,
  TextAreaEntry,
  TextFieldEntry
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { jsx, jsxs } from '@bpmn-io/properties-panel/preact/jsx-runtime';
import { useEffect, useRef, useState } from '@bpmn-io/properties-panel/preact/hooks';
import { getBusinessObject } from 'bpmn-js/lib/util/ModelUtil';

import {
  FORM_PROPERTY, addParameter, formatCodes, getCondition, getOperator, getProperty, getScript,
  laneOf, parseCodes, removeParameter, setCondition, setConnector, setName, setProperty,
  setResultVariable, setScript, updateParameter
} from './properties-xml.js';
import { checkSource, getCatalogue, previewForm } from './properties-server.js';

const NONE = '';

function catalogue() {
  return getCatalogue() || { forms: [], connectors: [], roles: [], parameter_types: [],
    consent: { purposes: [], categories: [] }, loading: true };
}

// The current value stays selectable even when the catalogue does not list it (yet: while it
// loads, the value is shown as it is).
function withCurrent(options, current, label) {
  if (current && !options.some((option) => option.value === current)) {
    return [ ...options, { value: current, label: getCatalogue() ? label(current) : current } ];
  }
  return options;
}

// --- user task: form and preview -------------------------------------------------------------

export function FormEntry(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const forms = catalogue().forms;
  const getOptions = () => withCurrent(
    [ { value: NONE, label: '<aucun formulaire>' } ].concat(
      forms.map((form) => ({ value: form.file, label: form.title + ' (' + form.file + ')' }))),
    getProperty(element, FORM_PROPERTY),
    (file) => file + ' (absent du dossier des formulaires)');
  return jsx(SelectEntry, {
    id, element, label: 'Formulaire',
    description: 'Le formulaire que remplit la personne qui traite cette tâche.',
    getValue: () => getProperty(element, FORM_PROPERTY) || NONE,
    setValue: (value) => setProperty(injector, element, FORM_PROPERTY, value),
    getOptions
  });
}

export function FormPreviewEntry(props) {
  const { element, id } = props;
  const file = getProperty(element, FORM_PROPERTY);
  const [ state, setState ] = useState({ file: null, html: '', error: '' });
  const container = useRef(null);
  const shown = state.file === file;

  useEffect(() => {
    if (container.current) {
      container.current.innerHTML = shown ? state.html : '';
    }
  }, [ state, shown ]);

  async function show() {
    try {
      setState({ file, html: await previewForm(file), error: '' });
    } catch (error) {
      setState({ file, html: '', error: error.message });
    }
  }

  if (!file) {
    return null;
  }
  return jsxs('div', {
    class: 'bio-properties-panel-entry relais-apercu', 'data-entry-id': id,
    children: [
      jsx('button', {
        type: 'button', class: 'relais-bouton', onClick: shown ? () => setState({ file: null,
          html: '', error: '' }) : show,
        'aria-expanded': shown ? 'true' : 'false',
        children: shown ? 'Masquer l\'aperçu' : 'Afficher l\'aperçu du formulaire'
      }),
      shown && state.error ? jsx('p', { class: 'relais-verification relais-erreur', role: 'alert',
        children: state.error }) : null,
      jsx('div', { ref: container, class: 'relais-apercu-contenu' })
    ]
  });
}

// --- lanes: their role ----------------------------------------------------------------------

function roleOptions(current) {
  return withCurrent(
    [ { value: NONE, label: '<choisir un rôle>' } ].concat(
      catalogue().roles.map((role) => ({ value: role.code, label: role.label + ' (' + role.code +
        ')' }))),
    current, (name) => name + ' (pas un rôle de Relais)');
}

export function LaneRoleEntry(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const lane = props.lane || element;
  return jsx(SelectEntry, {
    id, element, label: props.label || 'Rôle du couloir',
    description: props.description ||
      'Seules les personnes ayant ce rôle traitent les tâches de ce couloir.',
    getValue: () => getBusinessObject(lane).get('name') || NONE,
    setValue: (value) => setName(injector, lane, value),
    getOptions: () => roleOptions(getBusinessObject(lane).get('name'))
  });
}

export function TaskLaneEntry(props) {
  const injector = useService('injector');
  const lane = laneOf(injector, props.element);
  if (!lane) {
    return jsx('p', { class: 'bio-properties-panel-description relais-note',
      children: 'Cette tâche n\'est dans aucun couloir : placez-la dans le couloir du rôle ' +
        'qui doit la traiter.' });
  }
  return jsx(LaneRoleEntry, { ...props, lane, label: 'Rôle (couloir de la tâche)',
    description: 'Changer ce rôle renomme le couloir : toutes ses tâches changent de rôle.' });
}

// --- deploy-time check shown under a script or a condition ----------------------------------

export function CheckEntry(props) {
  const { id, getSource, kind } = props;
  const source = getSource();
  const [ result, setResult ] = useState(null);

  useEffect(() => {
    let current = true;
    if (kind === 'expression' && !source.trim()) {
      setResult(null);
      return undefined;
    }
    const timer = setTimeout(() => {
      checkSource(source, kind).then((answer) => {
        if (current) {
          setResult({ source, ...answer });
        }
      });
    }, 300);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [ source, kind ]);

  const fresh = result && result.source === source;
  return jsx('p', {
    id: id, class: 'relais-verification ' + (!fresh ? '' : result.ok ? 'relais-ok' : 'relais-erreur'),
    role: 'status', 'aria-live': 'polite', 'data-entry-id': id,
    children: !fresh ? (source.trim() || kind === 'script' ? 'Vérification…' : '')
      : result.message
  });
}

export function ScriptEntry(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  return jsx(TextAreaEntry, {
    id, element, label: 'Script (Python restreint)', rows: 8, monospace: true, debounce,
    description: 'Vérifié comme au déploiement : le résultat s\'affiche ci-dessous.',
    getValue: () => getScript(element),
    setValue: (value) => setScript(injector, element, value)
  });
}

export function ConditionEntry(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  return jsx(TextAreaEntry, {
    id, element, label: 'Expression de condition', rows: 2, monospace: true, debounce,
    description: 'Le flux est suivi quand l\'expression est vraie (ex. decision == "granted"). ' +
      'Laissez vide pour le flux par défaut.',
    getValue: () => getCondition(element),
    setValue: (value) => setCondition(injector, element, value)
  });
}

// --- service task: connector, result, parameters ---------------------------------------------

export function connectorOf(element) {
  const operator = getOperator(element);
  const id = operator ? operator.get('id') : '';
  return catalogue().connectors.find((c) => c.id === id) || null;
}

export function ConnectorEntry(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const current = () => (getOperator(element) ? getOperator(element).get('id') : '') || NONE;
  const chosen = connectorOf(element);
  return jsx(SelectEntry, {
    id, element, label: 'Connecteur',
    description: chosen ? chosen.description : 'Ce que Relais fait à cette étape.',
    getValue: current,
    setValue: (value) => setConnector(injector, element,
      catalogue().connectors.find((c) => c.id === value) || null),
    getOptions: () => withCurrent(
      [ { value: NONE, label: '<choisir un connecteur>' } ].concat(
        catalogue().connectors.map((c) => ({ value: c.id, label: c.id }))),
      current(), (value) => value + ' (inconnu)')
  });
}

export function ResultVariableEntry(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  return jsx(TextFieldEntry, {
    id, element, label: 'Variable du résultat', debounce,
    description: 'Nom sous lequel le résultat du connecteur est gardé pour la suite.',
    getValue: () => (getOperator(element) && getOperator(element).get('resultVariable')) || '',
    setValue: (value) => setResultVariable(injector, element, value)
  });
}

function documented(element, name) {
  const connector = connectorOf(element);
  return connector ? connector.parameters.find((p) => p.name === name) || null : null;
}

export function ParameterNameEntry(props) {
  const { element, id, parameter } = props;
  const injector = useService('injector');
  const connector = connectorOf(element);
  const options = (connector ? connector.parameters : []).map((p) => ({
    value: p.name, label: p.name + (p.required ? ' (obligatoire)' : ' (facultatif)')
  }));
  return jsx(SelectEntry, {
    id, element, label: 'Paramètre',
    getValue: () => parameter.get('id') || NONE,
    setValue: (value) => {
      const doc = documented(element, value);
      updateParameter(injector, element, parameter, doc ? { id: value, type: doc.type }
        : { id: value });
    },
    getOptions: () => withCurrent([ { value: NONE, label: '<choisir>' } ].concat(options),
      parameter.get('id'), (name) => name + ' (refusé par ce connecteur)')
  });
}

export function ParameterTypeEntry(props) {
  const { element, id, parameter } = props;
  const injector = useService('injector');
  return jsx(SelectEntry, {
    id, element, label: 'Type',
    getValue: () => parameter.get('type') || 'str',
    setValue: (value) => updateParameter(injector, element, parameter, { type: value }),
    getOptions: () => withCurrent(catalogue().parameter_types.map((t) => ({
      value: t.code, label: t.label + ' (' + t.code + ')' })), parameter.get('type'),
    (code) => code)
  });
}

export function ParameterValueEntry(props) {
  const { element, id, parameter } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const doc = documented(element, parameter.get('id'));
  return jsx(TextFieldEntry, {
    id, element, label: 'Valeur (expression)', debounce,
    description: (doc ? doc.doc + ' ' : '') + 'Texte fixe entre guillemets : \'fiche.docx\'.',
    getValue: () => parameter.get('value') || '',
    setValue: (value) => updateParameter(injector, element, parameter, { value: value || '' })
  });
}

export function parameterLabel(element, parameter) {
  const name = parameter.get('id') || 'nouveau paramètre';
  const doc = documented(element, parameter.get('id'));
  return name + (doc ? (doc.required ? ' (obligatoire)' : ' (facultatif)') : '');
}

export function addNextParameter(injector, element) {
  const connector = connectorOf(element);
  const present = new Set(
    ((getOperator(element) && getOperator(element).get('parameterList')) ?
      getOperator(element).get('parameterList').get('parameters') : []).map((p) => p.id));
  const next = connector && connector.parameters.find((p) => !present.has(p.name));
  addParameter(injector, element, next ? next.name : '', next ? next.type : 'str');
}

export { removeParameter };

// --- consent checkpoint: purposes, categories (multi-select), recipients --------------------

export function CodeCheckboxEntry(props) {
  const { element, id, property, code, label } = props;
  const injector = useService('injector');
  const codes = () => parseCodes(getProperty(element, property));
  return jsx(CheckboxEntry, {
    id, element, label,
    getValue: () => codes().includes(code),
    setValue: (checked) => {
      const others = codes().filter((c) => c !== code);
      setProperty(injector, element, property, formatCodes(checked ? [ ...others, code ] : others));
    }
  });
}

export function RecipientsEntry(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  return jsx(TextFieldEntry, {
    id, element, label: 'Destinataires (expression)', debounce,
    description: 'Liste des organisations destinataires, par leurs variables du territoire ' +
      '(ex. [association_designee]) ou leurs identifiants entre guillemets.',
    getValue: () => getProperty(element, 'prefill.recipients') || '',
    setValue: (value) => setProperty(injector, element, 'prefill.recipients', value)
  });
}
