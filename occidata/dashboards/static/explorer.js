// The static page's controls (occidata.dashboards.explorer): every view they can show was
// rendered ahead, so a change asks the service for that view's HTML and puts it in place, with no
// kernel and no websocket. Without this script, the form's button asks for the same address.
(function () {
  "use strict";
  var main = document.querySelector("main.od-view");
  if (!main || !window.fetch || !window.URLSearchParams) {
    return;
  }

  function form() {
    return main.querySelector("form.od-explore");
  }

  function hideButton() {
    var current = form();
    var button = current && current.querySelector(".od-apply");
    if (button) {
      button.hidden = true;
    }
  }

  function followLanguageLinks(query) {
    var links = document.querySelectorAll("a[hreflang]");
    for (var i = 0; i < links.length; i++) {
      var url = new URL(links[i].href, location.href);
      url.search = query;
      links[i].href = url.pathname + url.search;
    }
  }

  // The static page's own address, also when the live page's address served it (kernels at their cap).
  var path = main.getAttribute("data-static-path") || location.pathname;

  hideButton();
  main.addEventListener("change", function (event) {
    var current = form();
    if (!current || !current.contains(event.target) || !event.target.name) {
      return;
    }
    var chosen = new URLSearchParams(new FormData(current));
    var ask = new URLSearchParams(chosen);
    ask.set("changed", event.target.name);
    ask.set("part", "view");
    var name = event.target.name;
    main.setAttribute("aria-busy", "true");
    fetch(path + "?" + ask.toString(), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        var shown = response.headers.get("X-Occidata-View");
        return response.text().then(function (text) {
          return { text: text, query: shown === null ? chosen.toString() : shown };
        });
      })
      .then(function (view) {
        main.innerHTML = view.text;  // never runs a script: HTML of the host's own snapshot
        hideButton();
        var query = view.query ? "?" + view.query : "";
        history.replaceState(null, "", path + query);
        followLanguageLinks(query);
        var again = main.querySelector('form.od-explore [name="' + CSS.escape(name) + '"]');
        if (again) {
          again.focus();
        }
        main.removeAttribute("aria-busy");
      })
      .catch(function () {
        location.assign(path + "?" + chosen.toString());
      });
  });
})();
