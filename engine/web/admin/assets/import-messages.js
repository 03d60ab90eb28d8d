// Import errors and warnings of bpmn-js (moddle-xml's reader, bpmn-js' importer) in French,
// naming the element concerned and its line, never the English parser detail.
import { translate } from './i18n-fr.js';

function elementOf(text) {
  const id = /\bid="([^"]+)"/.exec(text);
  const tag = /<(?:bpmn:|bpmndi:|spiffworkflow:)?([A-Za-z]+)[\s>/]/.exec(text);
  const type = tag ? translate(tag[1].replace(/^./, (c) => c.toUpperCase())
    .replace(/(\B[A-Z])/g, ' $1')) : null;
  if (id) {
    return '« ' + id[1] + ' »' + (type ? ' (' + type + ')' : '');
  }
  const name = /<([^>\s]+)>/.exec(text);
  return name ? '« ' + name[1] + ' »' : null;
}

function where(text) {
  const line = /line: (\d+)/.exec(text);
  return line ? ' (ligne ' + line[1] + ')' : '';
}

const RULES = [
  [ /no diagram to display/i, () => 'Ce diagramme ne contient pas d\'informations graphiques ' +
    '(BPMNDI) : il ne peut pas être affiché. Ouvrez-le dans un modeleur qui sait en générer, ' +
    'ou redessinez-le.' ],
  [ /no process or collaboration to display/i,
    () => 'Le diagramme ne contient aucun processus ni aucune collaboration à afficher.' ],
  [ /failed to parse document as <bpmn:Definitions>|unparsable content/i,
    (text, element) => 'Le fichier n\'est pas un XML BPMN lisible' + where(text) +
      (element ? ', près de l\'élément ' + element : '') + ' : corrigez-le ou ré-exportez-le.' ],
  [ /unresolved reference/i, (text, element) => 'Référence introuvable : ' + element +
    ' n\'existe pas dans le diagramme.' ],
  [ /unrecognized element|unknown type|unexpected element/i,
    (text, element) => 'Élément non reconnu ' + (element || '') + where(text) +
      ' : il est ignoré par le modeleur.' ],
  [ /duplicate ID/i, (text, element) => 'Identifiant en double ' + (element || '') +
    where(text) + ' : chaque élément doit avoir un identifiant unique.' ],
  [ /multiple DI elements/i, (text, element) => 'L\'élément ' + element +
    ' est dessiné plusieurs fois : seule la première forme est gardée.' ],
  [ /no bpmnElement referenced/i, (text, element) => 'La forme ' + element +
    ' ne désigne aucun élément du processus : elle est ignorée.' ],
  [ /failed to import|already rendered/i, (text, element) => 'L\'élément ' + element +
    ' n\'a pas pu être affiché.' ]
];

export function frenchImportMessage(problem) {
  const text = String((problem && problem.message) || problem || '');
  for (const [ pattern, build ] of RULES) {
    if (pattern.test(text)) {
      return build(text, elementOf(text));
    }
  }
  return 'Le diagramme n\'a pas pu être lu entièrement' + where(text) + '.';
}
