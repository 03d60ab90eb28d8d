// What the Relais properties panel asks the server: the catalogue of what a diagram may name
// (forms, connectors and their parameters, roles, consent codes), the deploy-time check of a
// script or expression, and the preview of a form. The URLs come from the modeler page's
// data-* attributes (engine/web/templates/admin/modeleur.html), the CSRF token from its
// <meta name="csrf-token">.

const DEFAULTS = {
  catalogueUrl: '/admin/modeleur/catalogue.json',
  checkUrl: '/admin/modeleur/verifier-script',
  previewUrl: '/admin/modeleur/apercu-formulaire'
};

function setting(name) {
  const root = document.getElementById('modeleur');
  return (root && root.dataset[name]) || DEFAULTS[name];
}

function csrf() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

async function post(url, body, accept) {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'Accept': accept, 'X-CSRFToken': csrf() },
    body: JSON.stringify(body)
  });
  return response;
}

// The catalogue, loaded once per page; `onLoaded` callbacks re-render the panel.
let catalogue = null;
let loading = null;
const listeners = [];

export function getCatalogue() {
  return catalogue;
}

export function loadCatalogue(onLoaded) {
  if (onLoaded) {
    listeners.push(onLoaded);
  }
  if (!loading) {
    loading = fetch(setting('catalogueUrl'), {
      credentials: 'same-origin', headers: { Accept: 'application/json' }
    }).then((response) => {
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      return response.json();
    }).then((body) => {
      catalogue = body;
      listeners.forEach((listener) => listener(body));
    }).catch(() => {
      catalogue = { error: true, forms: [], connectors: [], roles: [], parameter_types: [],
        consent: { purposes: [], categories: [], recipient_kinds: [] } };
      listeners.forEach((listener) => listener(catalogue));
    });
  }
  return loading;
}

// Deploy-time checks, cached by (kind, source): the panel re-renders often.
const checks = new Map();

export async function checkSource(source, kind) {
  const key = kind + '\u0000' + source;
  if (!checks.has(key)) {
    checks.set(key, post(setting('checkUrl'), { source, kind }, 'application/json')
      .then(async (response) => {
        if (!response.ok) {
          return { ok: false, message: 'La vérification n\'a pas pu être faite (erreur ' +
            response.status + ').', unavailable: true };
        }
        return response.json();
      })
      .catch(() => ({ ok: false, unavailable: true,
        message: 'Le serveur est injoignable : vérification impossible.' })));
  }
  const result = await checks.get(key);
  if (result.unavailable) {
    checks.delete(key); // retried next time
  }
  return result;
}

export async function previewForm(file) {
  const response = await post(setting('previewUrl'), { fichier: file }, 'text/html');
  if (!response.ok) {
    throw new Error(response.status === 404
      ? 'Ce formulaire n\'existe pas dans le dossier des formulaires.'
      : 'L\'aperçu n\'a pas pu être affiché (erreur ' + response.status + ').');
  }
  return response.text();
}
