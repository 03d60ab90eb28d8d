/* Relais — « Ce qui change » : two read-only diagrams side by side, the semantic BPMN diff
 * (bpmn-js-differ, window.RelaisDiff) marked on them, and the same changes as a French list
 * (the accessible version: each change in words).
 *
 * No inline script or style (strict CSP): the page passes the two diagrams' URLs as data-*
 * attributes of #comparaison.
 */
(function () {
  'use strict';

  var TYPES = {
    'bpmn:Process': 'processus',
    'bpmn:Participant': 'bassin',
    'bpmn:Lane': 'couloir',
    'bpmn:StartEvent': 'événement de début',
    'bpmn:EndEvent': 'événement de fin',
    'bpmn:IntermediateCatchEvent': 'événement intermédiaire',
    'bpmn:IntermediateThrowEvent': 'événement intermédiaire',
    'bpmn:BoundaryEvent': 'événement attaché',
    'bpmn:Task': 'tâche',
    'bpmn:UserTask': 'tâche utilisateur',
    'bpmn:ManualTask': 'tâche manuelle',
    'bpmn:ScriptTask': 'tâche de script',
    'bpmn:ServiceTask': 'tâche de service',
    'bpmn:SendTask': 'tâche d\'envoi',
    'bpmn:ReceiveTask': 'tâche de réception',
    'bpmn:BusinessRuleTask': 'tâche de règle métier',
    'bpmn:CallActivity': 'activité d\'appel',
    'bpmn:SubProcess': 'sous-processus',
    'bpmn:ExclusiveGateway': 'passerelle exclusive',
    'bpmn:ParallelGateway': 'passerelle parallèle',
    'bpmn:InclusiveGateway': 'passerelle inclusive',
    'bpmn:EventBasedGateway': 'passerelle basée sur les événements',
    'bpmn:SequenceFlow': 'flux',
    'bpmn:MessageFlow': 'flux de message',
    'bpmn:TextAnnotation': 'annotation',
    'bpmn:DataObjectReference': 'objet de données'
  };
  var ATTRIBUTES = {
    name: 'nom',
    conditionExpression: 'condition',
    default: 'flux par défaut',
    script: 'script',
    extensionElements: 'propriétés (formulaire, connecteur, paramètres…)',
    documentation: 'documentation',
    sourceRef: 'origine',
    targetRef: 'destination',
    eventDefinitions: 'définition de l\'événement',
    isExecutable: 'exécutable'
  };

  function byId(id) {
    return document.getElementById(id);
  }

  function describe(element) {
    var type = TYPES[element.$type] || 'élément';
    return type + (element.name ? ' « ' + element.name + ' »' : '') + ' (' + element.id + ')';
  }

  function shown(value) {
    if (value === undefined || value === null || value === '') {
      return 'vide';
    }
    if (typeof value === 'object') {
      return value.body !== undefined ? '« ' + value.body + ' »'
        : value.id ? value.id : 'modifié';
    }
    return '« ' + String(value) + ' »';
  }

  async function show(viewer, url) {
    var response = await fetch(url, { credentials: 'same-origin' });
    if (!response.ok) {
      throw new Error('load');
    }
    await viewer.importXML(await response.text());
    viewer.get('canvas').zoom('fit-viewport');
    return viewer.getDefinitions();
  }

  function mark(viewer, id, marker) {
    if (viewer.get('elementRegistry').get(id)) {
      viewer.get('canvas').addMarker(id, marker);
      return true;
    }
    return false;
  }

  function addItem(list, kind, className, text) {
    var item = document.createElement('li');
    item.className = className;
    var strong = document.createElement('strong');
    strong.textContent = kind + ' : ';
    item.appendChild(strong);
    item.appendChild(document.createTextNode(text));
    list.appendChild(item);
  }

  async function start() {
    var root = byId('comparaison');
    var state = byId('etat-changements');
    var list = byId('liste-changements');
    if (!root || !window.RelaisBpmn || !window.RelaisDiff) {
      if (state) {
        state.textContent = 'Les changements ne peuvent pas être calculés sur ce serveur.';
      }
      return;
    }
    var before = new window.RelaisBpmn.NavigatedViewer({ container: byId('diagramme-avant') });
    var after = new window.RelaisBpmn.NavigatedViewer({ container: byId('diagramme-apres') });
    window.RelaisComparaison = { avant: before, apres: after };
    var changes;
    try {
      var oldDefinitions = await show(before, root.dataset.beforeUrl);
      var newDefinitions = await show(after, root.dataset.afterUrl);
      changes = window.RelaisDiff.diff(oldDefinitions, newDefinitions);
    } catch (error) {
      state.textContent = 'Les diagrammes n\'ont pas pu être chargés : les changements ne ' +
        'peuvent pas être affichés.';
      return;
    }
    var count = 0;
    Object.keys(changes._added).forEach(function (id) {
      mark(after, id, 'diff-ajoute');
      addItem(list, 'Ajouté', 'diff-ajoute', describe(changes._added[id]));
      count += 1;
    });
    Object.keys(changes._removed).forEach(function (id) {
      mark(before, id, 'diff-supprime');
      addItem(list, 'Supprimé', 'diff-supprime', describe(changes._removed[id]));
      count += 1;
    });
    Object.keys(changes._changed).forEach(function (id) {
      var change = changes._changed[id];
      mark(before, id, 'diff-modifie');
      mark(after, id, 'diff-modifie');
      var details = Object.keys(change.attrs).map(function (attr) {
        var values = change.attrs[attr];
        return (ATTRIBUTES[attr] || attr) + ' : ' + shown(values.oldValue) + ' → ' +
          shown(values.newValue);
      });
      addItem(list, 'Modifié', 'diff-modifie',
        describe(change.model) + (details.length ? ' — ' + details.join(' ; ') : ''));
      count += 1;
    });
    Object.keys(changes._layoutChanged).forEach(function (id) {
      if (changes._changed[id] || changes._added[id]) {
        return;
      }
      mark(after, id, 'diff-deplace');
      addItem(list, 'Déplacé', 'diff-deplace', describe(changes._layoutChanged[id]));
      count += 1;
    });
    state.textContent = count
      ? count + ' changement' + (count > 1 ? 's' : '') + ' : ajoutés en vert, supprimés en ' +
        'rouge, modifiés en orange, seulement déplacés en bleu.'
      : 'Aucun changement entre les deux diagrammes.';
    root.dataset.changements = String(count);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
