// The Relais groups of the properties panel: what the runtime executes, written exactly as the
// bundled protocols write it (see docs/modeler.md). Registered after bpmn-js-properties-panel's
// own provider (name, id, documentation, timers, messages stay theirs).
import { ListGroup, isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited,
  isCheckboxEntryEdited } from '@bpmn-io/properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

import {
  CheckEntry, CodeCheckboxEntry, ConditionEntry, ConnectorEntry, FormEntry, FormPreviewEntry,
  LaneRoleEntry, ParameterNameEntry, ParameterTypeEntry, ParameterValueEntry,
  RecipientsEntry, ResultVariableEntry, ScriptEntry, TaskLaneEntry, addNextParameter,
  parameterLabel, removeParameter
} from './properties-entries.js';
import { FORM_PROPERTY, getCondition, getParameters, getProperty, getScript } from './properties-xml.js';
import { getCatalogue, loadCatalogue } from './properties-server.js';
import { keepTitlesFrench } from './i18n-fr.js';

const CONSENT_FORM = 'consentement.json';
const CONDITIONAL_GATEWAYS = [ 'bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway' ];
const LOW_PRIORITY = 400; // after the BPMN provider (1000): its groups come first

function formGroup(element) {
  return {
    id: 'relais-formulaire',
    label: 'Formulaire et rôle',
    entries: [
      { id: 'relais-formulaire-fichier', element, component: FormEntry,
        isEdited: isSelectEntryEdited },
      { id: 'relais-formulaire-apercu', element, component: FormPreviewEntry },
      { id: 'relais-tache-role', element, component: TaskLaneEntry,
        isEdited: isSelectEntryEdited }
    ]
  };
}

function consentGroups(element) {
  const consent = (getCatalogue() || {}).consent || { purposes: [], categories: [] };
  const checkboxes = (property, items) => items.map((item) => ({
    id: 'relais-' + property.replace('.', '-') + '-' + item.code, element, property,
    code: item.code, label: item.label + ' (' + item.code + ')',
    component: CodeCheckboxEntry, isEdited: isCheckboxEntryEdited
  }));
  return [
    { id: 'relais-consentement-finalites', label: 'Consentement : finalités',
      entries: checkboxes('prefill.purposes', consent.purposes) },
    { id: 'relais-consentement-destinataires', label: 'Consentement : destinataires',
      entries: [ { id: 'relais-consentement-destinataires-expression', element,
        component: RecipientsEntry, isEdited: isTextFieldEntryEdited } ] },
    { id: 'relais-consentement-categories', label: 'Consentement : catégories de données',
      entries: checkboxes('prefill.categories', consent.categories) }
  ];
}

function scriptGroup(element) {
  return {
    id: 'relais-script',
    label: 'Script',
    entries: [
      { id: 'relais-script-source', element, component: ScriptEntry,
        isEdited: isTextAreaEntryEdited },
      { id: 'relais-script-verification', element, component: CheckEntry, kind: 'script',
        getSource: () => getScript(element) }
    ]
  };
}

function conditionGroup(element) {
  return {
    id: 'relais-condition',
    label: 'Condition',
    entries: [
      { id: 'relais-condition-expression', element, component: ConditionEntry,
        isEdited: isTextAreaEntryEdited },
      { id: 'relais-condition-verification', element, component: CheckEntry,
        kind: 'expression', getSource: () => getCondition(element) }
    ]
  };
}

function connectorGroups(element, injector) {
  const items = getParameters(element).map((parameter, index) => {
    const prefix = 'relais-parametre-' + index;
    return {
      id: prefix,
      label: parameterLabel(element, parameter),
      entries: [
        { id: prefix + '-nom', element, parameter, component: ParameterNameEntry,
          isEdited: isSelectEntryEdited },
        { id: prefix + '-type', element, parameter, component: ParameterTypeEntry,
          isEdited: isSelectEntryEdited },
        { id: prefix + '-valeur', element, parameter, component: ParameterValueEntry,
          isEdited: isTextFieldEntryEdited }
      ],
      autoFocusEntry: prefix + '-valeur',
      remove: () => removeParameter(injector, element, parameter)
    };
  });
  return [
    {
      id: 'relais-connecteur',
      label: 'Connecteur',
      entries: [
        { id: 'relais-connecteur-id', element, component: ConnectorEntry,
          isEdited: isSelectEntryEdited },
        { id: 'relais-connecteur-resultat', element, component: ResultVariableEntry,
          isEdited: isTextFieldEntryEdited }
      ]
    },
    {
      id: 'relais-parametres',
      label: 'Paramètres du connecteur',
      component: ListGroup,
      items,
      shouldSort: false,
      add: (event) => {
        event.stopPropagation();
        addNextParameter(injector, element);
      }
    }
  ];
}

function laneGroup(element) {
  return {
    id: 'relais-couloir',
    label: 'Rôle',
    entries: [ { id: 'relais-couloir-role', element, component: LaneRoleEntry,
      isEdited: isSelectEntryEdited } ]
  };
}

function isGatewayFlow(element) {
  const source = getBusinessObject(element).get('sourceRef');
  return is(element, 'bpmn:SequenceFlow') && source &&
    CONDITIONAL_GATEWAYS.some((type) => is(source, type));
}

export function relaisGroups(element, injector) {
  if (is(element, 'bpmn:UserTask')) {
    const groups = [ formGroup(element) ];
    return getProperty(element, FORM_PROPERTY) === CONSENT_FORM
      ? groups.concat(consentGroups(element)) : groups;
  }
  if (is(element, 'bpmn:ScriptTask')) {
    return [ scriptGroup(element) ];
  }
  if (is(element, 'bpmn:ServiceTask')) {
    return connectorGroups(element, injector);
  }
  if (isGatewayFlow(element)) {
    return [ conditionGroup(element) ];
  }
  if (is(element, 'bpmn:Lane')) {
    return [ laneGroup(element) ];
  }
  return [];
}

// Relais' groups go right after « Général » (name and id), before documentation and the rest.
// The panel's own words (« Toggle section », « Create new list item ») are translated only
// when a group or list item carries `translate`: every group gets bpmn-js' one.
function withTranslate(groups, translate) {
  groups.forEach((group) => {
    group.translate = translate;
    (group.items || []).forEach((item) => {
      item.translate = translate;
    });
  });
  return groups;
}

function RelaisPropertiesProvider(propertiesPanel, injector, eventBus, translate) {
  this.getGroups = function(element) {
    return function(groups) {
      const added = relaisGroups(element, injector);
      const general = groups.findIndex((group) => group.id === 'general');
      groups.splice(general + 1, 0, ...added);
      return withTranslate(groups, translate);
    };
  };
  propertiesPanel.registerProvider(LOW_PRIORITY, this); // needs getGroups already
  let watched = null;
  eventBus.on('propertiesPanel.rendered', () => {
    const root = propertiesPanel._container;
    if (root && root !== watched) {
      watched = root;
      keepTitlesFrench(root);
    }
  });
  loadCatalogue(() => eventBus.fire('propertiesPanel.providersChanged'));
}

RelaisPropertiesProvider.$inject = [ 'propertiesPanel', 'injector', 'eventBus', 'translate' ];

export default {
  __init__: [ 'relaisPropertiesProvider' ],
  relaisPropertiesProvider: [ 'type', RelaisPropertiesProvider ]
};
