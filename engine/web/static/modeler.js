/* Relais — administration pages: read-only diagram viewer and BPMN modeler.
 *
 * Uses the bpmn.io bundle built by ops/_setup.sh (static/vendor/relais-bpmn.js, which defines
 * window.RelaisBpmn). No inline script or style: the pages pass their parameters as data-*
 * attributes and the CSRF token in <meta name="csrf-token">.
 */
(function () {
  'use strict';

  var Bpmn = window.RelaisBpmn;

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
      additionalModules: []
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
    403: 'Vous n\'avez pas le droit de modifier ou de publier un protocole.',
    413: 'Le diagramme dépasse la taille autorisée : allégez-le ou découpez-le.'
  };

  // Save and publish: « Enregistrer le brouillon » keeps a draft on the server (seen by every
  // administrator); « Publier » saves it, then asks the server to validate and publish it.
  // Refusals come back element by element: each problem is marked on its element and listed,
  // and choosing an item of the list selects the element.
  function startModeler(root) {
    var state = byId('etat');
    var problems = byId('problemes');
    var saveButton = byId('enregistrer');
    var publishButton = byId('deployer');
    var downloadButton = byId('telecharger');
    var changesLink = byId('changements');
    var fileNameLabel = byId('nom-fichier');
    var csrf = document.querySelector('meta[name="csrf-token"]');
    var dirty = false;
    var busy = false;
    var marked = [];

    var modeler = new Bpmn.Modeler({
      container: byId('canevas'),
      propertiesPanel: { parent: byId('proprietes') },
      additionalModules: Bpmn.propertiesPanelModules.concat([
        Bpmn.preserveDiModule, Bpmn.lintModule
      ]),
      linting: { bpmnlint: Bpmn.lintConfig, active: true }
    });
    window.RelaisModeleur = modeler;

    function say(text, kind) {
      state.textContent = text;
      state.className = 'message' + (kind ? ' message-' + kind : '');
    }

    function processId() {
      var definitions = modeler.getDefinitions();
      var process = (definitions && definitions.rootElements || []).find(function (element) {
        return element.$type === 'bpmn:Process';
      });
      return process ? process.id : null;
    }

    function fileName() {
      if (!root.dataset.processId && !root.dataset.draftId) {
        var id = processId();  // a new protocol: name the file after its process
        if (id) {
          root.dataset.fileName = id.replace(/[^A-Za-z0-9._-]+/g, '_') + '.bpmn';
          fileNameLabel.textContent = root.dataset.fileName;
        }
      }
      return root.dataset.fileName;
    }

    // The shape showing an element: itself, or for a process the pool that holds it.
    function shapeOf(elementId) {
      var registry = modeler.get('elementRegistry');
      if (!elementId) {
        return null;
      }
      return registry.get(elementId) || registry.filter(function (element) {
        var bo = element.businessObject;
        return bo && bo.processRef && bo.processRef.id === elementId;
      })[0] || null;
    }

    function clearMarks() {
      var canvas = modeler.get('canvas');
      var overlays = modeler.get('overlays');
      marked.forEach(function (id) { canvas.removeMarker(id, 'relais-probleme'); });
      overlays.remove({ type: 'relais-probleme' });
      marked = [];
    }

    function selectElement(shape) {
      modeler.get('selection').select(shape);
      modeler.get('canvas').scrollToElement(shape);
    }

    function showProblems(title, items) {
      clearMarks();
      byId('problemes-titre').textContent = title;
      var list = byId('problemes-liste');
      list.replaceChildren();
      var counts = {};
      items.forEach(function (entry) {  // a server problem, or a plain French sentence
        var problem = typeof entry === 'string' ? { element_id: null, message: entry } : entry;
        var shape = shapeOf(problem.element_id);
        var item = document.createElement('li');
        var label = problem.element_name || problem.element_id;
        var text = (label ? label + ' : ' : '') + problem.message;
        if (shape) {
          var button = document.createElement('button');
          button.type = 'button';
          button.className = 'lien';
          button.textContent = text;
          button.dataset.elementId = shape.id;
          button.addEventListener('click', function () { selectElement(shape); });
          item.appendChild(button);
          counts[shape.id] = (counts[shape.id] || 0) + 1;
        } else {
          item.textContent = text;
        }
        list.appendChild(item);
      });
      Object.keys(counts).forEach(function (id) {
        var canvas = modeler.get('canvas');
        canvas.addMarker(id, 'relais-probleme');
        marked.push(id);
        var badge = document.createElement('span');
        badge.className = 'relais-probleme-badge';
        badge.textContent = counts[id] + ' problème' + (counts[id] > 1 ? 's' : '');
        modeler.get('overlays').add(id, 'relais-probleme', {
          position: { top: -12, right: 8 }, html: badge
        });
      });
      problems.hidden = false;
    }

    function hideProblems() {
      clearMarks();
      problems.hidden = true;
    }

    async function post(url, body) {
      var response = await fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: {
          'Content-Type': 'application/json',
          'Accept': 'application/json',
          'X-CSRFToken': csrf ? csrf.content : ''
        },
        body: JSON.stringify(body)
      });
      var isJson = (response.headers.get('Content-Type') || '').indexOf('json') >= 0;
      return { response: response, body: isJson ? await response.json() : null };
    }

    function refused(answer, what) {
      var body = answer.body;
      if (body && body.problems) {
        say('Le diagramme n\'a pas été ' + what + ' : corrigez les problèmes signalés sur ' +
          'les éléments.', 'erreur');
        showProblems(body.detail || body.title, body.problems);
      } else if (body && body.errors) {
        say((body.detail || body.title) + ' Rien n\'a été ' + what + '.', 'erreur');
        showProblems(body.detail || body.title, body.errors.map(function (e) {
          return { element_id: null, message: e.message };
        }));
      } else {
        say(STATUS_MESSAGES[answer.response.status] ||
          'Erreur inattendue du serveur (code ' + answer.response.status + ') : rien n\'a ' +
          'été ' + what + '. Réessayez plus tard.', 'erreur');
      }
    }

    // Saves the draft; true when the server kept it.
    async function saveDraft() {
      var saved = await modeler.saveXML({ format: true });
      var answer = await post(root.dataset.saveUrl, {
        fichier: fileName(),
        xml: saved.xml,
        protocole: root.dataset.processId || null,
        brouillon: root.dataset.draftId || null,
        revision: root.dataset.revision || null
      });
      if (!answer.response.ok || !answer.body) {
        refused(answer, 'enregistré');
        return false;
      }
      root.dataset.draftId = String(answer.body.id);
      root.dataset.revision = String(answer.body.revision);
      root.dataset.publishUrl = answer.body.publier;
      changesLink.href = answer.body.changements;
      changesLink.hidden = false;
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, '', answer.body.url);
      }
      dirty = false;
      say(answer.body.message, 'ok');
      return true;
    }

    async function run(action) {
      if (busy) {
        return;
      }
      busy = true;
      saveButton.disabled = publishButton.disabled = true;
      try {
        await action();
      } catch (error) {
        say('Le serveur est injoignable : rien n\'a été enregistré ni publié. Vérifiez la ' +
          'connexion et réessayez.', 'erreur');
      } finally {
        busy = false;
        saveButton.disabled = publishButton.disabled = false;
      }
    }

    async function save() {
      hideProblems();
      say('Enregistrement du brouillon…');
      await saveDraft();
    }

    async function publish() {
      hideProblems();
      say('Vérification et publication…');
      if ((dirty || !root.dataset.draftId) && !(await saveDraft())) {
        return;
      }
      say('Brouillon enregistré ; vérification et publication…');
      var url = root.dataset.publishUrl ||
        root.dataset.saveUrl + '/' + root.dataset.draftId + '/publier';
      var answer = await post(url, { revision: root.dataset.revision });
      if (answer.response.ok && answer.body) {
        say(answer.body.message, 'ok');
        var link = document.createElement('a');
        link.href = answer.body.versions[0].url;
        link.textContent = ' Voir le protocole publié';
        state.appendChild(link);
        root.dataset.processId = answer.body.versions[0].id;
        root.dataset.draftId = root.dataset.revision = root.dataset.publishUrl = '';
        if (window.history && window.history.replaceState) {  // the draft no longer exists
          window.history.replaceState(null, '', answer.body.versions[0].url + '/modifier');
        }
        changesLink.hidden = true;
        dirty = false;
        return;
      }
      refused(answer, 'publié');
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
            'avant de publier.'
          : 'Diagramme chargé. « Enregistrer le brouillon » garde vos modifications ; ' +
            '« Publier » crée une nouvelle version.',
        warnings ? 'warning' : null);
        if (warnings && Bpmn.frenchImportMessage) {
          showProblems('Avertissements d\'import', result.warnings.map(Bpmn.frenchImportMessage));
        }
        saveButton.disabled = publishButton.disabled = false;
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
    changesLink.addEventListener('click', function (event) {
      if (dirty) {  // show the changes of what is on screen: save first
        event.preventDefault();
        run(async function () {
          if (await saveDraft()) {
            window.location.href = changesLink.href;
          }
        });
      }
    });
    saveButton.addEventListener('click', function () { run(save); });
    publishButton.addEventListener('click', function () { run(publish); });
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
