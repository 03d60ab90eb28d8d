// French for everything bpmn-js, its properties panel and bpmnlint show, through bpmn-js'
// `translate` service. The community translation (npm package bpmn-js-i18n) is the base; the
// terms it lacks or words differently from Relais are completed here. Templates that are
// built from parts (the panel's element type « User Task », the linter's « Process is missing
// start event ») are translated by rules below. A template without French is recorded in
// `missing` (read by the browser test that checks no English is shown).
import community from 'bpmn-js-i18n/translations/fr';

const RELAIS = {
  // palette and tools
  'Activate hand tool': 'Outil main (déplacer la vue)',
  'Activate lasso tool': 'Outil lasso (sélection)',
  'Activate create/remove space tool': 'Créer ou supprimer de l\'espace',
  'Activate global connect tool': 'Outil de connexion',
  'Create start event': 'Créer un événement de début',
  'Create intermediate/boundary event': 'Créer un événement intermédiaire ou attaché',
  'Create end event': 'Créer un événement de fin',
  'Create gateway': 'Créer une passerelle',
  'Create task': 'Créer une tâche',
  'Create data object reference': 'Créer un objet de données',
  'Create data store reference': 'Créer un stock de données',
  'Create expanded sub-process': 'Créer un sous-processus',
  'Create pool/participant': 'Créer un bassin (participant)',
  'Create group': 'Créer un groupe',
  'Search in diagram': 'Rechercher dans le diagramme',
  // context pad
  'Append task': 'Ajouter une tâche à la suite',
  'Append end event': 'Ajouter un événement de fin',
  'Append gateway': 'Ajouter une passerelle',
  'Append intermediate/boundary event': 'Ajouter un événement intermédiaire',
  'Append compensation activity': 'Ajouter une activité de compensation',
  'Append conditional intermediate catch event': 'Ajouter un événement conditionnel',
  'Append message intermediate catch event': 'Ajouter une réception de message',
  'Append receive task': 'Ajouter une tâche de réception',
  'Append signal intermediate catch event': 'Ajouter une réception de signal',
  'Append timer intermediate catch event': 'Ajouter une minuterie',
  'Append text annotation': 'Ajouter une annotation',
  'Add text annotation': 'Ajouter une annotation',
  'Add lane above': 'Ajouter un couloir au-dessus',
  'Add lane below': 'Ajouter un couloir en dessous',
  'Divide into two lanes': 'Diviser en deux couloirs',
  'Divide into three lanes': 'Diviser en trois couloirs',
  'Change element': 'Changer le type',
  'Change type': 'Changer le type',
  'Connect to other element': 'Relier à un autre élément',
  'Connect using association': 'Relier par une association',
  'Connect using data input association': 'Relier par une association de données',
  'Delete': 'Supprimer',
  'Align elements': 'Aligner les éléments',
  'Align elements ': 'Aligner les éléments ',
  'Distribute elements horizontally': 'Répartir horizontalement',
  'Distribute elements vertically': 'Répartir verticalement',
  'Open {element}': 'Ouvrir {element}',
  'Toggle non-interrupting': 'Basculer interruptif / non interruptif',
  'Toggle linting overlays': 'Afficher ou masquer les alertes de vérification',
  'Issues for child elements': 'Alertes sur les éléments enfants',
  ' + shift + ': ' + Maj + ',
  // element types (menus)
  'Task': 'Tâche',
  'User task': 'Tâche utilisateur',
  'Service task': 'Tâche de service',
  'Script task': 'Tâche de script',
  'Send task': 'Tâche d\'envoi',
  'Receive task': 'Tâche de réception',
  'Manual task': 'Tâche manuelle',
  'Business rule task': 'Tâche de règle métier',
  'Call activity': 'Activité d\'appel',
  'Sub-process': 'Sous-processus',
  'Sub-process (collapsed)': 'Sous-processus (replié)',
  'Sub-process (expanded)': 'Sous-processus (déplié)',
  'Ad-hoc sub-process': 'Sous-processus ad hoc',
  'Ad-hoc sub-process (collapsed)': 'Sous-processus ad hoc (replié)',
  'Ad-hoc sub-process (expanded)': 'Sous-processus ad hoc (déplié)',
  'Event sub-process': 'Sous-processus d\'événement',
  'Transaction': 'Transaction',
  'Start event': 'Événement de début',
  'End event': 'Événement de fin',
  'Boundary event': 'Événement attaché',
  'Intermediate throw event': 'Événement intermédiaire d\'émission',
  'Exclusive gateway': 'Passerelle exclusive',
  'Parallel gateway': 'Passerelle parallèle',
  'Inclusive gateway': 'Passerelle inclusive',
  'Complex gateway': 'Passerelle complexe',
  'Event-based gateway': 'Passerelle basée sur les événements',
  'Event based instantiating Gateway': 'Passerelle d\'instanciation basée sur les événements',
  'Parallel Event based instantiating Gateway':
    'Passerelle parallèle d\'instanciation basée sur les événements',
  'Sequence flow': 'Flux de séquence',
  'Default flow': 'Flux par défaut',
  'Conditional flow': 'Flux conditionnel',
  'Data object reference': 'Objet de données',
  'Data store reference': 'Stock de données',
  'Empty pool/participant': 'Bassin vide',
  'Expanded pool/participant': 'Bassin déplié',
  'Loop': 'Boucle',
  'Parallel multi-instance': 'Multi-instance parallèle',
  'Sequential multi-instance': 'Multi-instance séquentielle',
  'Collection': 'Collection',
  'Participant multiplicity': 'Multiplicité du participant',
  'Message start event': 'Événement de début (message)',
  'Message start event (non-interrupting)': 'Événement de début (message, non interruptif)',
  'Timer start event': 'Événement de début (minuterie)',
  'Timer start event (non-interrupting)': 'Événement de début (minuterie, non interruptif)',
  'Conditional start event': 'Événement de début (condition)',
  'Conditional start event (non-interrupting)': 'Événement de début (condition, non interruptif)',
  'Signal start event': 'Événement de début (signal)',
  'Signal start event (non-interrupting)': 'Événement de début (signal, non interruptif)',
  'Error start event': 'Événement de début (erreur)',
  'Escalation start event': 'Événement de début (escalade)',
  'Escalation start event (non-interrupting)': 'Événement de début (escalade, non interruptif)',
  'Compensation start event': 'Événement de début (compensation)',
  'Message end event': 'Événement de fin (message)',
  'Escalation end event': 'Événement de fin (escalade)',
  'Error end event': 'Événement de fin (erreur)',
  'Cancel end event': 'Événement de fin (annulation)',
  'Compensation end event': 'Événement de fin (compensation)',
  'Signal end event': 'Événement de fin (signal)',
  'Terminate end event': 'Événement de fin (terminaison)',
  'Message intermediate catch event': 'Réception de message',
  'Message intermediate throw event': 'Envoi de message',
  'Timer intermediate catch event': 'Minuterie',
  'Escalation intermediate throw event': 'Émission d\'escalade',
  'Conditional intermediate catch event': 'Attente d\'une condition',
  'Link intermediate catch event': 'Lien (réception)',
  'Link intermediate throw event': 'Lien (émission)',
  'Compensation intermediate throw event': 'Émission de compensation',
  'Signal intermediate catch event': 'Réception de signal',
  'Signal intermediate throw event': 'Émission de signal',
  'Message boundary event': 'Événement attaché (message)',
  'Message boundary event (non-interrupting)': 'Événement attaché (message, non interruptif)',
  'Timer boundary event': 'Événement attaché (minuterie)',
  'Timer boundary event (non-interrupting)': 'Événement attaché (minuterie, non interruptif)',
  'Escalation boundary event': 'Événement attaché (escalade)',
  'Escalation boundary event (non-interrupting)': 'Événement attaché (escalade, non interruptif)',
  'Conditional boundary event': 'Événement attaché (condition)',
  'Conditional boundary event (non-interrupting)':
    'Événement attaché (condition, non interruptif)',
  'Error boundary event': 'Événement attaché (erreur)',
  'Cancel boundary event': 'Événement attaché (annulation)',
  'Signal boundary event': 'Événement attaché (signal)',
  'Signal boundary event (non-interrupting)': 'Événement attaché (signal, non interruptif)',
  'Compensation boundary event': 'Événement attaché (compensation)',
  // popup menus and search
  'Search': 'Rechercher',
  'No matching entries found.': 'Aucun résultat.',
  'No results': 'Aucun résultat',
  'Search in diagram…': 'Rechercher dans le diagramme…',
  // properties panel (BPMN groups)
  'Select an element to edit its properties.':
    'Sélectionnez un élément pour modifier ses propriétés.',
  'Multiple elements are selected. Select a single element to edit its properties.':
    'Plusieurs éléments sont sélectionnés : sélectionnez-en un seul pour modifier ses ' +
    'propriétés.',
  'General': 'Général',
  'Name': 'Nom',
  'ID': 'Identifiant',
  'ID must not be empty.': 'L\'identifiant ne doit pas être vide.',
  'ID must be unique.': 'L\'identifiant doit être unique dans le diagramme.',
  'ID must not contain spaces.': 'L\'identifiant ne doit pas contenir d\'espace.',
  'ID must be a valid QName.':
    'L\'identifiant doit commencer par une lettre et ne contenir que lettres, chiffres, « _ », ' +
    '« - » ou « . ».',
  'ID must not contain prefix.': 'L\'identifiant ne doit pas contenir de préfixe.',
  'Documentation': 'Documentation',
  'Element documentation': 'Documentation de l\'élément',
  'Process documentation': 'Documentation du processus',
  'Executable': 'Exécutable',
  'Process ID': 'Identifiant du processus',
  'Process name': 'Nom du processus',
  'Participant Name': 'Nom du participant',
  'Condition': 'Condition',
  'Condition expression': 'Expression de condition',
  'Condition Expression': 'Expression de condition',
  'Type': 'Type',
  'Value': 'Valeur',
  'Values': 'Valeurs',
  'Timer': 'Minuterie',
  'Date': 'Date',
  'Duration': 'Durée',
  'Cycle': 'Cycle',
  '<none>': '<aucun>',
  '<empty>': '<vide>',
  'Create new ...': 'Créer…',
  'Message': 'Message',
  'Global message reference': 'Message',
  'Signal': 'Signal',
  'Global signal reference': 'Signal',
  'Error': 'Erreur',
  'Errors': 'Erreurs',
  'Global error reference': 'Erreur',
  'Code': 'Code',
  'Escalation': 'Escalade',
  'Global escalation reference': 'Escalade',
  'Link': 'Lien',
  'Compensation': 'Compensation',
  'Wait for completion': 'Attendre la fin',
  'Activity reference': 'Activité compensée',
  'Multi-instance': 'Multi-instance',
  'Loop cardinality': 'Nombre d\'itérations',
  'Completion condition': 'Condition de fin',
  'Script': 'Script',
  'Format': 'Format',
  'Properties': 'Propriétés',
  'Section contains an error': 'Cette section contient une erreur',
  'Section contains edits': 'Cette section contient des valeurs',
  'Toggle section': 'Ouvrir ou fermer la section',
  'Toggle list item': 'Ouvrir ou fermer l\'élément',
  'Create new list item': 'Ajouter un élément à la liste',
  'Create': 'Ajouter',
  'Delete item': 'Supprimer l\'élément',
  'List contains {numOfItems} item': 'La liste contient {numOfItems} élément',
  'List contains {numOfItems} items': 'La liste contient {numOfItems} éléments',
  'Open documentation': 'Ouvrir la documentation',
  'Learn more.': 'En savoir plus.',
  'Implementation': 'Implémentation',
  'Source': 'Source',
  'Target': 'Cible',
  'Off': 'Désactivé',
  'On': 'Activé',
  'Label': 'Libellé',
  'Version': 'Version',
  'Expression': 'Expression',
  'String': 'Texte',
  'Timer documentation': 'Documentation : minuteries',
  'Documentation: Timer events': 'Documentation : événements de minuterie',
  'How to configure a timer': 'Comment configurer une minuterie',
  'A specific point in time defined as ISO 8601 combined date and time representation.':
    'Un instant précis, au format ISO 8601 (date et heure), ou une expression qui le calcule.',
  'A time duration defined as ISO 8601 durations format.':
    'Une durée au format ISO 8601 entre guillemets (ex. "P30D" pour 30 jours).',
  'A cycle defined as ISO 8601 repeating intervals format.':
    'Un cycle au format ISO 8601 des intervalles répétés (ex. "R3/PT10S").',
  'A cycle defined as ISO 8601 repeating intervals format, or a cron expression.':
    'Un cycle au format ISO 8601 des intervalles répétés, ou une expression cron.',
  'Open pop-up editor': 'Ouvrir l\'éditeur',
  'Completion': 'Fin',
  '15 seconds': '15 secondes',
  '1 hour and 30 minutes': '1 heure et 30 minutes',
  '14 days': '14 jours',
  'every 10 seconds, up to 5 times': 'toutes les 10 secondes, 5 fois au plus',
  'every day, infinitely': 'chaque jour, sans fin',
  'UTC time': 'heure UTC',
  'UTC plus 2 hours zone offset': 'UTC plus 2 heures',
  'Empty pool/participant (removes content)': 'Bassin vide (supprime son contenu)',
  'Participant ID': 'Identifiant du participant',
  'Powered by bpmn.io': 'Réalisé avec bpmn.io',
  // linter
  'No Issues': 'Aucune alerte',
  '{errors} Errors, {warnings} Warnings': '{errors} erreur(s), {warnings} avertissement(s)',
  'Element is missing label/name': 'L\'élément n\'a pas de nom',
  'Element is missing name': 'L\'élément n\'a pas de nom',
  'Element is not connected': 'L\'élément n\'est relié à rien',
  'Element is an implicit end': 'L\'élément termine le processus sans événement de fin',
  'Element is an implicit start': 'L\'élément commence le processus sans événement de début',
  'Element is missing bpmndi': 'L\'élément n\'a pas de représentation graphique (BPMNDI)',
  'Element is outside of parent boundary': 'L\'élément déborde de son conteneur',
  'Element is unused': 'L\'élément n\'est pas utilisé',
  'Element name is not unique': 'Le nom de l\'élément n\'est pas unique',
  'Element overlaps with other element': 'L\'élément en chevauche un autre',
  'Event has multiple event definitions': 'L\'événement a plusieurs définitions',
  'Flow splits implicitly':
    'Le flux se divise sans passerelle : ajoutez une passerelle explicite',
  'Gateway forks and joins': 'La passerelle à la fois divise et rejoint des flux',
  'Gateway is superfluous. It only has one source and target.':
    'Passerelle inutile : elle n\'a qu\'une entrée et qu\'une sortie.',
  'Incoming flows do not join': 'Les flux entrants ne sont pas rejoints par une passerelle',
  'Link event is missing link name': 'L\'événement de lien n\'a pas de nom de lien',
  'Sequence flow has superfluous label': 'Le flux a un libellé inutile',
  'Sequence flow is missing condition': 'Le flux n\'a pas de condition',
  'SequenceFlow is a duplicate': 'Ce flux en double un autre',
  'Duplicate incoming sequence flows': 'Flux entrants en double',
  'Duplicate outgoing sequence flows': 'Flux sortants en double',
  'Start event is missing event definition': 'L\'événement de début n\'a pas de définition',
  'Start event must be blank': 'L\'événement de début doit être simple (sans définition)',
  'Termination is superfluous.': 'La terminaison est inutile.',
  'Conditional event is missing a condition': 'L\'événement conditionnel n\'a pas de condition',
  'A <Sequence Flow> outgoing from an <Event-based Gateway> must not be conditional':
    'Un flux sortant d\'une passerelle basée sur les événements ne doit pas avoir de condition',
  'An <Event-based Gateway> must have at least 2 outgoing <Sequence Flows>':
    'Une passerelle basée sur les événements doit avoir au moins deux flux sortants',
  'A <Start Event> is not allowed in <Ad Hoc Sub Process>':
    'Un événement de début n\'est pas permis dans un sous-processus ad hoc',
  'An <End Event> is not allowed in <Ad Hoc Sub Process>':
    'Un événement de fin n\'est pas permis dans un sous-processus ad hoc'
};

// The properties panel's header names an element type « User Task », « Timer Boundary Event
// (Non Interrupting) »: words of the BPMN type, translated here.
const TYPES = {
  'Task': 'Tâche', 'User Task': 'Tâche utilisateur', 'Service Task': 'Tâche de service',
  'Script Task': 'Tâche de script', 'Send Task': 'Tâche d\'envoi',
  'Receive Task': 'Tâche de réception', 'Manual Task': 'Tâche manuelle',
  'Business Rule Task': 'Tâche de règle métier', 'Call Activity': 'Activité d\'appel',
  'Collapsed Sub Process': 'Sous-processus (replié)',
  'Expanded Sub Process': 'Sous-processus (déplié)',
  'Event Sub Process': 'Sous-processus d\'événement', 'Sub Process': 'Sous-processus',
  'Collapsed Ad Hoc Sub Process': 'Sous-processus ad hoc (replié)',
  'Expanded Ad Hoc Sub Process': 'Sous-processus ad hoc (déplié)',
  'Ad Hoc Sub Process': 'Sous-processus ad hoc', 'Transaction': 'Transaction',
  'Start Event': 'Événement de début', 'End Event': 'Événement de fin',
  'Intermediate Catch Event': 'Événement intermédiaire (réception)',
  'Intermediate Throw Event': 'Événement intermédiaire (émission)',
  'Boundary Event': 'Événement attaché',
  'Exclusive Gateway': 'Passerelle exclusive', 'Parallel Gateway': 'Passerelle parallèle',
  'Inclusive Gateway': 'Passerelle inclusive', 'Complex Gateway': 'Passerelle complexe',
  'Event Based Gateway': 'Passerelle basée sur les événements',
  'Sequence Flow': 'Flux de séquence', 'Message Flow': 'Flux de message',
  'Default Flow': 'Flux par défaut', 'Conditional Flow': 'Flux conditionnel',
  'Association': 'Association', 'Data Input Association': 'Association de données (entrée)',
  'Data Output Association': 'Association de données (sortie)',
  'Participant': 'Bassin (participant)', 'Lane': 'Couloir', 'Process': 'Processus',
  'Collaboration': 'Collaboration', 'Text Annotation': 'Annotation', 'Group': 'Groupe',
  'Data Object Reference': 'Objet de données', 'Data Store Reference': 'Stock de données',
  'Data Input': 'Entrée de données', 'Data Output': 'Sortie de données'
};
const EVENT_KINDS = {
  'Message': 'message', 'Timer': 'minuterie', 'Signal': 'signal', 'Error': 'erreur',
  'Escalation': 'escalade', 'Conditional': 'condition', 'Compensate': 'compensation',
  'Cancel': 'annulation', 'Link': 'lien', 'Terminate': 'terminaison'
};

function typeLabel(template) {
  if (Object.prototype.hasOwnProperty.call(TYPES, template)) {
    return TYPES[template];
  }
  const match = /^(Message |Timer |Signal |Error |Escalation |Conditional |Compensate |Cancel |Link |Terminate )?(.+?)( \(Non Interrupting\))?$/
    .exec(template);
  if (!match || !TYPES[match[2]]) {
    return null;
  }
  const details = [];
  if (match[1]) {
    details.push(EVENT_KINDS[match[1].trim()]);
  }
  if (match[3]) {
    details.push('non interruptif');
  }
  return TYPES[match[2]] + (details.length ? ' (' + details.join(', ') + ')' : '');
}

// Linter messages built from parts.
const PATTERNS = [
  [ /^(.+) is missing start event$/, (m) => article(m[1]) + ' n\'a pas d\'événement de début' ],
  [ /^(.+) is missing end event$/, (m) => article(m[1]) + ' n\'a pas d\'événement de fin' ],
  [ /^(.+) has multiple blank start events$/,
    (m) => article(m[1]) + ' a plusieurs événements de début simples' ],
  [ /^Element type <(.+)> is discouraged$/,
    (m) => 'Type d\'élément déconseillé : ' + (typeLabel(spaced(m[1])) || m[1]) ],
  [ /^Element has disallowed type <(.+)>$/,
    (m) => 'Type d\'élément interdit : ' + (typeLabel(spaced(m[1])) || m[1]) ],
  [ /^Duplicate link catch event with link name <(.+)> in scope$/,
    (m) => 'Deux événements de lien reçoivent le même nom « ' + m[1] + ' »' ],
  [ /^Link (catch|throw) event with link name <(.+)> missing in scope$/,
    (m) => 'Aucun événement de lien ' + (m[1] === 'catch' ? 'récepteur' : 'émetteur') +
      ' nommé « ' + m[2] + ' »' ]
];

function spaced(type) {
  return type.replace(/^bpmn:/, '').replace(/(\B[A-Z])/g, ' $1');
}

function article(type) {
  const label = typeLabel(type) || typeLabel(spaced(type)) || type;
  return 'L\'élément « ' + label + ' »';
}

export const translations = Object.assign({}, community, RELAIS);
export const missing = new Set();

function french(template) {
  if (Object.prototype.hasOwnProperty.call(translations, template)) {
    return translations[template];
  }
  const type = typeLabel(template);
  if (type) {
    return type;
  }
  for (const [ pattern, build ] of PATTERNS) {
    const match = pattern.exec(template);
    if (match) {
      return build(match);
    }
  }
  missing.add(template);
  return template;
}

export function translate(template, replacements) {
  const values = replacements || {};
  return french(template).replace(/{([^}]+)}/g, (whole, key) => {
    return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : whole;
  });
}

// A few titles of the properties panel's buttons (« Open pop-up editor ») are written by
// components that receive no `translate`: they are translated in the DOM as they appear.
export function translateTitles(root) {
  root.querySelectorAll('[title]').forEach((node) => {
    const title = node.getAttribute('title');
    if (Object.prototype.hasOwnProperty.call(translations, title)) {
      node.setAttribute('title', translations[title]);
    }
  });
}

export function keepTitlesFrench(root) {
  translateTitles(root);
  new MutationObserver(() => translateTitles(root)).observe(root, {
    subtree: true, childList: true, attributes: true, attributeFilter: [ 'title' ]
  });
}

// bpmn-js writes its logo's title in English, without `translate`.
// It is added once the modules are loaded: translated when a diagram has been imported.
function FrenchLogo(canvas, eventBus) {
  eventBus.on('import.done', () => {
    const container = canvas.getContainer().parentNode;
    const logo = container && container.querySelector('.bjs-powered-by');
    if (logo) {
      logo.title = translate('Powered by bpmn.io');
    }
  });
}

FrenchLogo.$inject = [ 'canvas', 'eventBus' ];

export default {
  __init__: [ 'frenchLogo' ],
  translate: [ 'value', translate ],
  frenchLogo: [ 'type', FrenchLogo ]
};
