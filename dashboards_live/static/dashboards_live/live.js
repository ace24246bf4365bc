// dashboards_live: the connection indicator of every live stream on the page.
// Each element with data-live-stream (and htmx's sse-connect) gets its state
// from the htmx SSE extension's events. The state also sits on that element:
// components with poll_rate poll only while it is not "live".
(function () {
  "use strict";
  var OFFLINE_AFTER = 30000; // ms of failed reconnecting before saying offline
  var WORDS = {live: "Live", reconnecting: "Reconnecting…", offline: "Offline", connecting: "Connecting…"};

  function wire(stream) {
    if (stream.dataset.liveWired) return;
    stream.dataset.liveWired = "1";
    var badge = document.getElementById(stream.dataset.indicator || "") || stream.querySelector(".stream-state");
    var label = badge && badge.querySelector(".stream-label");
    var updated = badge && badge.querySelector(".stream-updated");
    var downSince = null;

    function set(state) {
      if (stream.dataset.stream === state) return;
      stream.dataset.stream = state;
      if (badge) badge.dataset.stream = state;
      if (label) label.textContent = WORDS[state];
    }
    function touched() {
      if (!updated) return;
      var now = new Date();
      updated.textContent = "last update ";
      var t = document.createElement("time");
      t.dateTime = now.toISOString();
      t.textContent = now.toTimeString().slice(0, 8);
      updated.appendChild(t);
    }
    stream.addEventListener("htmx:sseOpen", function () {
      downSince = null;
      set(navigator.onLine === false ? "offline" : "live");
    });
    stream.addEventListener("htmx:sseError", function () {
      if (downSince === null) downSince = Date.now();
      set(navigator.onLine === false || Date.now() - downSince > OFFLINE_AFTER ? "offline" : "reconnecting");
    });
    stream.addEventListener("htmx:sseMessage", touched);
    stream.addEventListener("htmx:afterSwap", function (evt) { if (evt.detail.requestConfig) touched(); });
    window.addEventListener("offline", function () { set("offline"); });
    window.addEventListener("online", function () { if (stream.dataset.stream === "offline") set("reconnecting"); });
    window.setInterval(function () {
      if (downSince !== null && Date.now() - downSince > OFFLINE_AFTER) set("offline");
    }, 5000);
  }

  function wireAll() { document.querySelectorAll("[data-live-stream]").forEach(wire); }
  // deferred: runs before htmx opens any stream (htmx starts on DOMContentLoaded)
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wireAll);
  else wireAll();
  // streams that arrive later (an htmx swap that brings a live region)
  document.addEventListener("htmx:load", function (evt) {
    var root = evt.target;
    if (root.matches && root.matches("[data-live-stream]")) wire(root);
    if (root.querySelectorAll) root.querySelectorAll("[data-live-stream]").forEach(wire);
  });
})();
