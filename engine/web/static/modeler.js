/* Relais — administration pages: read-only diagram viewer and BPMN modeler.
 *
 * Uses the bpmn.io bundle built by ops/_setup.sh (static/vendor/relais-bpmn.js, which defines
 * window.RelaisBpmn). No inline script or style: the pages pass their parameters as data-*
 * attributes and the CSRF token in <meta name="csrf-token">.
 */
(function () {
  'use strict';

  var Bpmn = window.RelaisBpmn;

  // French for what an administrator sees most: palette, context pad, element types and the
  // main properties; the rarer bpmn.io strings stay in English.
  var FRENCH = {
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
    'Append task': 'Ajouter une tâche à la suite',
    'Append end event': 'Ajouter un événement de fin',
    'Append gateway': 'Ajouter une passerelle',
    'Append intermediate/boundary event': 'Ajouter un événement intermédiaire',
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
    'Delete': 'Supprimer',
    'Search in diagram': 'Rechercher dans le diagramme',
    'Toggle linting overlays': 'Afficher ou masquer les alertes de vérification',
    'Issues for child elements': 'Alertes sur les éléments enfants',
    'General': 'Général',
    'Name': 'Nom',
    'ID': 'Identifiant',
    'Documentation': 'Documentation',
    'Element documentation': 'Documentation de l\'élément',
    'Process documentation': 'Documentation du processus',
    'Executable': 'Exécutable',
    'Condition': 'Condition',
    'Condition expression': 'Expression de condition',
    'Type': 'Type',
    'Value': 'Valeur',
    'Timer': 'Minuterie',
    'Message': 'Message',
    'Script': 'Script',
    'Task': 'Tâche',
    'User task': 'Tâche utilisateur',
    'Service task': 'Tâche de service',
    'Script task': 'Tâche de script',
    'Send task': 'Tâche d\'envoi',
    'Receive task': 'Tâche de réception',
    'Manual task': 'Tâche manuelle',
    'Business rule task': 'Tâche de règle métier',
    'Call activity': 'Activité d\'appel',
    'Start event': 'Événement de début',
    'End event': 'Événement de fin',
    'Exclusive gateway': 'Passerelle exclusive',
    'Parallel gateway': 'Passerelle parallèle',
    'Inclusive gateway': 'Passerelle inclusive',
    'Event-based gateway': 'Passerelle basée sur les événements',
    'Sub-process (collapsed)': 'Sous-processus (replié)',
    'Sub-process (expanded)': 'Sous-processus (déplié)'
  };

  var translateModule = {
    translate: [ 'value', function (template, replacements) {
      var values = replacements || {};
      return (FRENCH[template] || template).replace(/{([^}]+)}/g, function (whole, key) {
        return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : whole;
      });
    } ]
  };

  function byId(id) {
    return document.getElementById(id);
  }

  function frenchImportError(error) {
    if (Bpmn && Bpmn.frenchImportMessage) {  // names the element and its line
      return Bpmn.frenchImportMessage(error);
    }
    var text = String(error && error.message || error || '');
    if (/no diagram to display/i.test(text)) {
      return 'Ce diagramme ne contient pas d\'informations graphiques (BPMNDI) : il ne peut ' +
        'pas être affiché. Ouvrez-le dans un modeleur qui sait en générer, ou redessinez-le.';
    }
    if (/unparsable content|unexpected|missing|unclosed/i.test(text)) {
      return 'Le fichier n\'est pas un XML BPMN lisible par le modeleur.';
    }
    return 'Le diagramme n\'a pas pu être affiché.';
  }

  async function fetchXml(url) {
    var response = await fetch(url, {
      credentials: 'same-origin',
      headers: { Accept: 'application/xml' }
    });
    if (!response.ok) {
      throw new Error('Le diagramme n\'a pas pu être chargé (erreur ' + response.status + ').');
    }
    return response.text();
  }

  // --- read-only viewer (page of one protocol) ---------------------------------------------

  async function startViewer(container) {
    var state = byId('etat-diagramme');
    var viewer = new Bpmn.NavigatedViewer({
      container: container,
      additionalModules: [ translateModule ]
    });
    window.RelaisVisionneuse = viewer;
    try {
      await viewer.importXML(await fetchXml(container.dataset.sourceUrl));
      viewer.get('canvas').zoom('fit-viewport');
      state.textContent = 'Lecture seule : faites glisser pour vous déplacer, ' +
        'Ctrl + molette pour zoomer.';
    } catch (error) {
      container.hidden = true;
      state.textContent = error.message && error.message.indexOf('chargé') >= 0
        ? error.message : frenchImportError(error);
    }
  }

  // --- modeler ------------------------------------------------------------------------------

  var STATUS_MESSAGES = {
    400: 'Le formulaire a expiré ou n\'est pas authentique : téléchargez le .bpmn pour garder ' +
      'vos modifications, rechargez la page et recommencez.',
    401: 'Votre session a pris fin : téléchargez le .bpmn, reconnectez-vous puis importez-le.',
    403: 'Vous n\'avez pas le droit de déployer un protocole.',
    413: 'Le diagramme dépasse la taille autorisée : allégez-le ou découpez-le.'
  };

  function startModeler(root) {
    var state = byId('etat');
    var problems = byId('problemes');
    var deployButton = byId('deployer');
    var downloadButton = byId('telecharger');
    var fileNameLabel = byId('nom-fichier');
    var csrf = document.querySelector('meta[name="csrf-token"]');
    var dirty = false;

    var modeler = new Bpmn.Modeler({
      container: byId('canevas'),
      propertiesPanel: { parent: byId('proprietes') },
      additionalModules: Bpmn.propertiesPanelModules.concat([
        Bpmn.preserveDiModule, Bpmn.lintModule, translateModule
      ]),
      linting: { bpmnlint: Bpmn.lintConfig, active: true }
    });
    window.RelaisModeleur = modeler;

    function say(text, kind) {
      state.textContent = text;
      state.className = 'message' + (kind ? ' message-' + kind : '');
    }

    function showProblems(title, lines) {
      byId('problemes-titre').textContent = title;
      var list = byId('problemes-liste');
      list.replaceChildren();
      lines.forEach(function (line) {
        var item = document.createElement('li');
        item.textContent = line;
        list.appendChild(item);
      });
      problems.hidden = false;
    }

    function processId() {
      var definitions = modeler.getDefinitions();
      var process = (definitions && definitions.rootElements || []).find(function (element) {
        return element.$type === 'bpmn:Process';
      });
      return process ? process.id : null;
    }

    function fileName() {
      if (!root.dataset.processId) {  // a new protocol: name the file after its process
        var id = processId();
        if (id) {
          root.dataset.fileName = id.replace(/[^A-Za-z0-9._-]+/g, '_') + '.bpmn';
          fileNameLabel.textContent = root.dataset.fileName;
        }
      }
      return root.dataset.fileName;
    }

    async function deploy() {
      deployButton.disabled = true;
      problems.hidden = true;
      say('Déploiement en cours…');
      try {
        var saved = await modeler.saveXML({ format: true });
        var response = await fetch(root.dataset.deployUrl, {
          method: 'POST',
          credentials: 'same-origin',
          headers: {
            'Content-Type': 'application/json',
            'Accept': 'application/json',
            'X-CSRFToken': csrf ? csrf.content : ''
          },
          body: JSON.stringify({
            fichier: fileName(),
            xml: saved.xml,
            protocole: root.dataset.processId || null
          })
        });
        var isJson = (response.headers.get('Content-Type') || '').indexOf('json') >= 0;
        var body = isJson ? await response.json() : null;
        if (response.ok && body) {
          dirty = false;
          if (!root.dataset.processId && body.versions.length) {
            root.dataset.processId = body.versions[0].id;
          }
          say(body.message, 'ok');
          return;
        }
        if (body && body.errors) {
          say('Le diagramme n\'a pas été déployé.', 'erreur');
          showProblems(body.detail || body.title, body.errors.map(function (e) {
            return e.message;
          }));
          return;
        }
        say(STATUS_MESSAGES[response.status] ||
          'Erreur inattendue du serveur (code ' + response.status + ') : rien n\'a été ' +
          'déployé. Réessayez plus tard.', 'erreur');
      } catch (error) {
        say('Le serveur est injoignable : rien n\'a été déployé. Vérifiez la connexion et ' +
          'réessayez.', 'erreur');
      } finally {
        deployButton.disabled = false;
      }
    }

    async function download() {
      var saved = await modeler.saveXML({ format: true });
      var url = URL.createObjectURL(new Blob([ saved.xml ], { type: 'application/xml' }));
      var link = document.createElement('a');
      link.href = url;
      link.download = fileName();
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    }

    async function load() {
      try {
        var result = await modeler.importXML(await fetchXml(root.dataset.sourceUrl));
        modeler.get('canvas').zoom('fit-viewport');
        var warnings = result.warnings.length;
        say(warnings
          ? 'Diagramme chargé, avec ' + warnings + ' avertissement(s) d\'import : vérifiez-le ' +
            'avant de déployer.'
          : 'Diagramme chargé. Modifiez-le, puis « Déployer » crée une nouvelle version.',
        warnings ? 'warning' : null);
        if (warnings && Bpmn.frenchImportMessage) {
          showProblems('Avertissements d\'import', result.warnings.map(Bpmn.frenchImportMessage));
        }
        deployButton.disabled = false;
        downloadButton.disabled = false;
      } catch (error) {
        say(error.message && error.message.indexOf('chargé') >= 0
          ? error.message : frenchImportError(error), 'erreur');
      }
    }

    modeler.on('commandStack.changed', function () { dirty = true; });
    modeler.on('import.done', function () { dirty = false; });
    window.addEventListener('beforeunload', function (event) {
      if (dirty) {
        event.preventDefault();
        event.returnValue = '';
      }
    });
    deployButton.addEventListener('click', deploy);
    downloadButton.addEventListener('click', download);
    load();
  }

  function start() {
    if (!Bpmn) {
      return;
    }
    var viewer = byId('visionneuse');
    if (viewer) {
      startViewer(viewer);
    }
    var root = byId('modeleur');
    if (root) {
      startModeler(root);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
