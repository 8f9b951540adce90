// The script of every hub page (hub/templates/page.html), in place of JupyterHub's inline scripts:
// the hub's Content-Security-Policy runs scripts from the hub's static folders only, so the data
// the inline scripts held come from two JSON blocks of the page, and each page's behaviour is here.
(function () {
  "use strict";

  function readJson(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : {};
  }

  var hub = readJson("occidata-hub-data");
  var page = readJson("occidata-page-data");

  window.jhdata = hub.jhdata;
  require.config({
    urlArgs: hub.version_hash ? "v=" + hub.version_hash : "",
    baseUrl: hub.static_js,
    paths: {
      components: "../components",
      jquery: "../components/jquery/dist/jquery.min",
      "js-sha256": "../components/js-sha256/build/sha256.min",
      moment: "../components/moment/moment",
    },
  });

  function onReady(callback) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", callback);
    } else {
      callback();
    }
  }

  // A form's submit button shows a spinner and cannot be pressed twice (JupyterHub's login and spawn pages).
  function submitFeedback() {
    onReady(function () {
      document.querySelectorAll("form").forEach(function (form) {
        form.addEventListener("submit", function () {
          form.querySelectorAll(".feedback-container>input, .feedback-container>button").forEach(function (button) {
            // Disabled after the submission has started: a disabled button's value would not be sent.
            setTimeout(function () { button.disabled = true; }, 0);
          });
          form.querySelectorAll(".feedback-widget").forEach(function (widget) {
            widget.classList.remove("hidden");
            widget.querySelectorAll("i").forEach(function (icon) { icon.classList.add("fa-pulse"); });
          });
        });
      });
    });
  }

  function showPassword() {
    onReady(function () {
      var toggle = document.getElementById("toggle_password_visibility");
      var password = document.getElementById("password_input");
      if (!toggle || !password) {
        return;
      }
      toggle.addEventListener("click", function () {
        var hidden = password.type === "password";
        password.type = hidden ? "text" : "password";
        toggle.setAttribute("aria-pressed", hidden ? "true" : "false");
        toggle.setAttribute("title", hidden ? "Masquer le mot de passe" : "Afficher le mot de passe");
      });
    });
  }

  // JupyterHub's progress events are English (Spawner.progress, the API's ready and failed events):
  // the known ones in French; a spawner's own messages are shown as they come.
  var PROGRESS = [
    [/^Server requested$/, "Serveur demandé"],
    [/^Spawning server\.\.\.$/, "Démarrage du serveur…"],
    [/^Server ready at /, "Serveur prêt : "],
    [/^Spawn failed: /, "Le démarrage a échoué : "],
    [/^Spawn failed$/, "Le démarrage a échoué"],
    [/^Spawn cancelled$/, "Démarrage annulé"],
  ];

  function frenchProgress(message) {
    for (var i = 0; i < PROGRESS.length; i++) {
      if (PROGRESS[i][0].test(message)) {
        return message.replace(PROGRESS[i][0], PROGRESS[i][1]);
      }
    }
    return message;
  }

  // The progress of a starting server, from the hub's event stream (JupyterHub's spawn_pending page).
  function spawnPending() {
    require(["jquery", "jhapi"], function ($, JHAPI) {
      var api = new JHAPI(window.jhdata.base_url);
      var progressBar = $("#progress-bar");
      var srProgress = $("#sr-progress");
      var progressMessage = $("#progress-message");
      var progressLog = $("#progress-log");

      $("#refresh").click(function () { window.location.reload(); });
      $("#stop-server-btn").click(function () {
        var button = $(this);
        var status = $("#stop-server-status");
        button.prop("disabled", true);
        status.show().attr("class", "mt-2 alert alert-info").text(page.stopping);
        api.stop_server(window.jhdata.user, {
          success: function () {
            status.attr("class", "mt-2 alert alert-success").text(page.stopped);
            setTimeout(function () { window.location.reload(); }, 2000);
          },
          error: function (xhr) {
            var detail = xhr.responseJSON && xhr.responseJSON.message ? " : " + xhr.responseJSON.message : "";
            status.attr("class", "mt-2 alert alert-danger").text(page.stop_failed + detail);
            button.prop("disabled", false);
          },
        });
      });

      var events = new EventSource(page.progress_url);
      events.onmessage = function (message) {
        var event = JSON.parse(message.data);
        if (event.progress !== undefined) {
          var percent = event.progress.toString();
          progressBar.attr("aria-valuenow", percent).css("width", percent + "%");
          srProgress.text(percent + "%");
        }
        // The spawner's own messages may carry markup (html_message); the policy runs none of its scripts.
        var html;
        if (event.html_message !== undefined) {
          html = frenchProgress(event.html_message);
          progressMessage.html(html);
        } else if (event.message !== undefined) {
          progressMessage.text(frenchProgress(event.message));
          html = progressMessage.html();
        }
        if (html) {
          progressLog.append($("<div>").addClass("progress-log-event").html(html));
        }
        if (event.ready) {
          events.close();
          window.location.reload(); // the hub now redirects to the running server
        }
        if (event.failed) {
          events.close();
          progressBar.addClass("bg-danger");
          $("#progress-details").prop("open", true);
        }
      };
      window._jupyterhub_page_loaded = true;
    });
  }

  function notRunning() {
    if (page.implicit_spawn_seconds) {
      setTimeout(function () { window.location = page.spawn_url; }, 1000 * page.implicit_spawn_seconds);
    }
    require(["not_running"]);
  }

  function stopPending() {
    onReady(function () {
      var refresh = document.getElementById("refresh");
      if (refresh) {
        refresh.addEventListener("click", function (event) {
          event.preventDefault();
          window.location.reload();
        });
      }
    });
    setTimeout(function () { window.location.reload(); }, 5000);
  }

  // The hub adds ?redirects=N to break redirect loops; a reader copying the address should not keep it.
  function removeRedirectsFromUrl() {
    var url = new URL(window.location.href);
    if (url.searchParams.has("redirects")) {
      url.searchParams.delete("redirects");
      window.history.replaceState({}, "", url.toString());
    }
  }

  // JupyterHub's admin application (loaded by the page after this script) reads these two globals,
  // which its inline script used to set.
  function admin() {
    window.api_page_limit = page.api_page_limit;
    window.base_url = page.base_url;
    adminFrench(page.admin_labels || {});
  }

  // How long ago (or in how long) an ISO date is, in French, as JupyterHub's pages said it in English with moment.
  function relativeTime(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) {
      return null;
    }
    var seconds = (date.getTime() - Date.now()) / 1000;
    var units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]];
    var format = new Intl.RelativeTimeFormat("fr", { numeric: "auto" });
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(seconds) >= units[i][1]) {
        return format.format(Math.round(seconds / units[i][1]), units[i][0]);
      }
    }
    return Math.abs(seconds) < 45 ? (seconds <= 0 ? "à l'instant" : "dans quelques secondes")
      : format.format(Math.round(seconds), "second");
  }

  function frenchDates() {
    document.querySelectorAll("time[datetime]").forEach(function (element) {
      var text = relativeTime(element.getAttribute("datetime"));
      if (text) {
        element.setAttribute("title", new Date(element.getAttribute("datetime")).toLocaleString("fr-FR"));
        element.textContent = text;
      }
    });
  }

  function apiError(xhr) {
    return xhr && xhr.responseJSON && xhr.responseJSON.message ? " : " + xhr.responseJSON.message : "";
  }

  // The home page's buttons, in place of JupyterHub's home.js (whose stop writes « Start My Server »).
  function home() {
    require(["jquery", "jhapi"], function ($, JHAPI) {
      var api = new JHAPI(window.jhdata.base_url);
      var user = window.jhdata.user;
      $("#stop").click(function () {
        var stop = $(this);
        var start = $("#start");
        stop.attr("disabled", true).text(page.stopping);
        start.attr("disabled", true).attr("title", page.stopping).on("click.stopping", function () { return false; });
        api.stop_server(user, {
          success: function () {
            stop.hide();
            start.text(page.start).attr("title", page.start_title).attr("disabled", false)
              .attr("href", window.jhdata.base_url + "spawn/" + user).off("click.stopping");
          },
          error: function (xhr) {
            stop.attr("disabled", false).text(page.stop);
            start.attr("disabled", false).off("click.stopping");
            $("#home-error").text(page.stop_failed + apiError(xhr)).show();
          },
        });
      });
      window._jupyterhub_page_loaded = true;
    });
  }

  // The token page, in place of JupyterHub's token.js (English note, English dates by moment).
  function token() {
    frenchDates();
    require(["jquery", "jhapi"], function ($, JHAPI) {
      var api = new JHAPI(window.jhdata.base_url);
      var user = window.jhdata.user;
      $("#request-token-form").submit(function () {
        var body = {
          note: $("#token-note").val() || page.default_note,
          expires_in: parseInt($("#token-expiration-seconds").val(), 10) || null,
        };
        var scopes = ($("#token-scopes").val() || "").split(/[\s,]+/).filter(function (scope) { return scope.length > 0; });
        if (scopes.length > 0) {
          body.scopes = scopes;
        }
        $("#token-error").hide();
        api.request_token(user, body, {
          success: function (reply) {
            $("#token-result").text(reply.token);
            $("#token-area").show();
          },
          error: function (xhr) {
            $("#token-error").text(page.request_failed + apiError(xhr)).show();
          },
        });
        return false;
      });
      $(".revoke-token-btn").click(function () {
        var button = $(this);
        var row = button.closest(".token-row");
        button.attr("disabled", true);
        api.revoke_token(user, row.data("token-id"), {
          success: function () { row.remove(); },
          error: function (xhr) {
            button.attr("disabled", false);
            $("#token-error").text(page.revoke_failed + apiError(xhr)).show();
          },
        });
      });
      window._jupyterhub_page_loaded = true;
    });
  }

  // JupyterHub's admin application is compiled React with English text. What it writes is put in
  // French as it appears: exact labels from page.admin_labels, and the few patterns below. A text
  // it writes that is in neither stays English.
  var ADMIN_PATTERNS = [
    [/^(\d+) seconds ago$/, "il y a $1 s"], [/^(\d+) minutes? ago$/, "il y a $1 min"],
    [/^(\d+) hours? ago$/, "il y a $1 h"], [/^(\d+) days? ago$/, "il y a $1 j"],
    [/^(\d+) months? ago$/, "il y a $1 mois"], [/^(\d+) years? ago$/, "il y a $1 an(s)"],
    [/^of (\d+)$/, "sur $1"], [/^Editing user (.*)$/, "Modification de l'utilisateur $1"],
    [/^Editing Group (.*)$/, "Modification du groupe $1"],
  ];

  function adminFrench(labels) {
    function french(text) {
      var trimmed = text.trim();
      if (!trimmed) {
        return null;
      }
      if (Object.prototype.hasOwnProperty.call(labels, trimmed)) {
        return text.replace(trimmed, labels[trimmed]);
      }
      for (var i = 0; i < ADMIN_PATTERNS.length; i++) {
        if (ADMIN_PATTERNS[i][0].test(trimmed)) {
          return text.replace(trimmed, trimmed.replace(ADMIN_PATTERNS[i][0], ADMIN_PATTERNS[i][1]));
        }
      }
      return null;
    }
    function translate(root) {
      var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      var node;
      while ((node = walker.nextNode())) {
        var text = french(node.nodeValue);
        if (text !== null && text !== node.nodeValue) {
          node.nodeValue = text;
        }
      }
      var elements = root.querySelectorAll ? root.querySelectorAll("[placeholder], [title], [aria-label]") : [];
      elements.forEach(function (element) {
        ["placeholder", "title", "aria-label"].forEach(function (name) {
          var value = element.getAttribute(name);
          var text = value && french(value);
          if (text !== null && text !== undefined && text !== value) {
            element.setAttribute(name, text);
          }
        });
      });
    }
    onReady(function () {
      var root = document.getElementById("react-admin-hook");
      if (!root) {
        return;
      }
      translate(root);
      // React writes its text when it renders, and again on each update: translate what changed.
      new MutationObserver(function (mutations) {
        mutations.forEach(function (mutation) {
          if (mutation.type === "characterData") {
            var text = french(mutation.target.nodeValue);
            if (text !== null && text !== mutation.target.nodeValue) {
              mutation.target.nodeValue = text;
            }
          } else if (mutation.type === "attributes") {
            translate(mutation.target.parentNode || root);
          } else {
            mutation.addedNodes.forEach(function (added) {
              if (added.nodeType === Node.TEXT_NODE) {
                var text = french(added.nodeValue);
                if (text !== null && text !== added.nodeValue) {
                  added.nodeValue = text;
                }
              } else if (added.nodeType === Node.ELEMENT_NODE) {
                translate(added);
              }
            });
          }
        });
      }).observe(root, { childList: true, subtree: true, characterData: true, attributes: true,
        attributeFilter: ["placeholder", "title", "aria-label"] });
    });
  }

  var pages = {
    home: home,
    token: token,
    login: function () { submitFeedback(); showPassword(); },
    spawn: submitFeedback,
    spawn_pending: spawnPending,
    stop_pending: stopPending,
    not_running: notRunning,
    error: removeRedirectsFromUrl,
    admin: admin,
  };
  if (pages[page.page]) {
    pages[page.page]();
  }
})();
