// Task lists refresh without a reload: every 20 seconds (while the page is visible) the
// list asks the server for its current state; when it changed, the list is replaced and a
// polite live region tells screen-reader users. Same-origin JSON only (strict CSP).
(function () {
  "use strict";
  var PERIOD_MS = 20000;
  var list = document.getElementById("taches-liste");
  var announce = document.getElementById("taches-annonce");
  if (!list || !announce || !window.fetch) { return; }

  function refresh() {
    if (document.hidden) { return; }
    fetch(list.getAttribute("data-actualiser"), {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (state) {
      if (!state || state.signature === list.getAttribute("data-signature")) { return; }
      list.setAttribute("data-signature", state.signature);
      list.innerHTML = state.html;
      announce.textContent = state.announce;
    }).catch(function () { /* offline for a moment: the next round tries again */ });
  }

  window.setInterval(refresh, PERIOD_MS);
  document.addEventListener("visibilitychange", refresh);
}());
