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
          progressMessage.html(event.html_message);
          html = event.html_message;
        } else if (event.message !== undefined) {
          progressMessage.text(event.message);
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
  }

  var pages = {
    home: function () { require(["home"]); },
    token: function () { require(["token"]); },
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
