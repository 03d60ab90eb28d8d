// Keeps the diagram information (DI) that bpmn-js imports but does not draw.
//
// On save, bpmn-js (BpmnDiOrdering, on 'saveXML.start') rewrites each drawn plane's
// planeElement list to exactly the shapes and edges on the canvas. DI that it could not draw
// is then lost: the content of an expanded call activity drawn from the called process
// (MIWG B.1.0, B.2.0) or an edge without bpmnElement (MIWG C.7.0). This module notes that DI
// after each import and puts it back after bpmn-js has ordered the planes.
import { getDi } from 'bpmn-js/lib/util/ModelUtil';

const AFTER_DI_ORDERING = 1000; // BpmnDiOrdering listens at 2000: higher runs first

function PreserveUnrenderedDi(eventBus, canvas, elementRegistry) {
  let kept = [];

  eventBus.on('import.done', function() {
    const drawn = new Set(elementRegistry.getAll().map(getDi).filter(Boolean));
    kept = canvas.getRootElements().map(function(root) {
      const plane = getDi(root);
      const hidden = plane && plane.get('planeElement').filter(function(di) {
        return !drawn.has(di);
      });
      return { plane, hidden: hidden || [] };
    }).filter(function(entry) {
      return entry.hidden.length;
    });
  });

  eventBus.on('saveXML.start', AFTER_DI_ORDERING, function() {
    kept.forEach(function(entry) {
      const elements = entry.plane.get('planeElement');
      entry.hidden.forEach(function(di) {
        if (elements.indexOf(di) === -1) {
          elements.push(di);
        }
      });
    });
  });
}

PreserveUnrenderedDi.$inject = [ 'eventBus', 'canvas', 'elementRegistry' ];

export default {
  __init__: [ 'preserveUnrenderedDi' ],
  preserveUnrenderedDi: [ 'type', PreserveUnrenderedDi ]
};
