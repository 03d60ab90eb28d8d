// The audit log page: « Vérifier » verifies the chain in steps, asking the server for the
// next rows from a cursor until the result, with the progress shown in a <progress> bar and
// announced to screen readers (aria-live). Without this script the form runs every step at once.
(function () {
  "use strict";
  const form = document.getElementById("form-verifier");
  if (!form) { return; }
  const button = document.getElementById("verifier");
  const box = document.getElementById("progression");
  const bar = document.getElementById("barre-verification");
  const status = document.getElementById("resultat-verification");
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const number = new Intl.NumberFormat("fr-FR");

  function say(text, kind) {
    const p = document.createElement("p");
    if (kind) { p.className = kind; }
    p.textContent = text;
    status.replaceChildren(p);
  }

  function finish(step) {
    const r = step.result;
    const key = "Empreinte de confiance utilisée : " + step.trusted.join(", ") +
      " (" + step.trusted_from + ").";
    bar.value = bar.max;
    if (r.ok) {
      say("Journal intègre : " + number.format(r.entries) + " ligne(s) vérifiée(s), " +
        number.format(r.checkpoints) + " point(s) de contrôle signé(s) vérifié(s). " +
        number.format(r.uncovered) + " ligne(s) après le dernier point de contrôle. " + key,
        "resultat-intact");
    } else {
      say("Journal altéré à la ligne " + r.first_bad_seq + " : " + r.reason + ". " + key,
        "resultat-altere");
    }
  }

  async function step(cursor) {
    const response = await fetch(form.action, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json",
                "X-CSRFToken": token},
      body: JSON.stringify({cursor: cursor})
    });
    const body = await response.json();
    if (!response.ok) { throw new Error(body.detail || "Vérification impossible."); }
    return body;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    button.disabled = true;
    box.classList.remove("cache");
    bar.value = 0;
    say("Vérification en cours…");
    let cursor = "";
    try {
      for (;;) {
        const progress = await step(cursor);
        bar.max = Math.max(progress.total, 1);
        bar.value = progress.checked;
        if (progress.done) { finish(progress); break; }
        say("Vérification en cours : " + number.format(progress.checked) + " ligne(s) sur " +
          number.format(progress.total) + ", " + number.format(progress.checkpoints_reached) +
          " point(s) de contrôle atteint(s).");
        cursor = progress.cursor;
      }
    } catch (error) {
      say(error.message, "resultat-altere");
    } finally {
      button.disabled = false;
    }
  });
}());
