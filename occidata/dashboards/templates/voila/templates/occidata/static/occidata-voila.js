// Voilà's page helpers (voila_setup.macro.html.j2 and the lab template's inline calls), as a
// file served from the dashboards' own path: the pages' Content-Security-Policy runs no inline
// script. The template includes this file several times; its data-* attributes say what to do:
//   (none)                    define the helpers voila.js and the steps below call;
//   data-cell, data-cells     one cell of the notebook has been executed (the loading text);
//   data-step="finish"        every cell is there: show them once the theme is loaded.
(function () {
  "use strict";
  var script = document.currentScript;
  var data = (script && script.dataset) || {};

  if (data.cell !== undefined) {
    window.voila_process(Number(data.cell), Number(data.cells));
    return;
  }
  if (data.step === "finish") {
    window.voila_finish();
    return;
  }

  window.voila_heartbeat = function () {};
  window.update_loading_text = function (cellIndex, cellCount, text) {
    var spinner = document.getElementById("loading");
    if (spinner && spinner.style.display === "none") {
      spinner.style.display = "flex";
    }
    var element = document.getElementById("loading_text");
    if (element) {
      element.textContent = text || "Exécution " + cellIndex + " sur " + cellCount;
    }
  };
  window.display_cells = function () {
    // voila.js calls voila_finish again once the theme is loaded.
    if (!window.themeLoaded) {
      window.cellLoaded = true;
      return;
    }
    var loading = document.getElementById("loading");
    if (loading) {
      loading.parentNode.removeChild(loading);
    }
    var cells = document.getElementById("rendered_cells");
    if (cells) {
      cells.style.display = "";
    }
  };
  window.voila_process = window.update_loading_text;
  window.voila_finish = window.display_cells;
})();
