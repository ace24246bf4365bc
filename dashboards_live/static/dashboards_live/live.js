// dashboards_live: what each live stream on the page needs beside htmx, with htmx 2 or htmx 4.
// - The connection indicator, from the SSE extension's events (htmx 2: htmx:sse*; htmx 4:
//   htmx:*:sse:*). The state also sits on the stream element: components with poll_rate poll
//   (the "live-poll" event) only while it is not "live".
// - htmx 4 swaps unnamed messages only and dispatches named ones as DOM events; our events are
//   named (the component key), so a named message for a slot of the stream (its sse-swap names
//   it) goes on as an <hx-partial> for that slot: htmx 4 swaps it in order and keeps its id
//   for Last-Event-ID. htmx 2's extension swaps into sse-swap elements by itself.
// - A refused first connect (a 502 from Pushpin, a network error) is retried with backoff under
//   htmx 4; htmx 2's extension retries a closed EventSource by itself.
// - Stale marks: a slot with data-stale-after gets a visible "stale" badge (and one announcement)
//   when no value came for that many seconds, cleared by the next value.
(function () {
  "use strict";
  var OFFLINE_AFTER = 30000; // ms of failed reconnecting before saying offline
  var RETRY_FIRST = 500, RETRY_MAX = 30000; // ms, first connect refused under htmx 4
  var WORDS = {live: "Live", reconnecting: "Reconnecting…", offline: "Offline", connecting: "Connecting…"};
  var slotNumber = 0;

  function ago(ms) {
    var s = Math.round(ms / 1000);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    return Math.floor(s / 3600) + " h";
  }

  function wire(stream) {
    if (stream.dataset.liveWired) return;
    stream.dataset.liveWired = "1";
    var badge = document.getElementById(stream.dataset.indicator || "") || stream.querySelector(".stream-state");
    var label = badge && badge.querySelector(".stream-label");
    var updated = badge && badge.querySelector(".stream-updated");
    var downSince = null;
    var retries = 0, retryTimer = null;
    var loadedAt = Date.now();
    var announcer = document.createElement("p");
    announcer.className = "visually-hidden";
    announcer.setAttribute("role", "status");
    stream.appendChild(announcer);

    function mine(el) { return el && el.closest && el.closest("[data-live-stream]") === stream; }
    function slots() { return Array.prototype.filter.call(stream.querySelectorAll("[sse-swap]"), mine); }
    function slotFor(name) {
      return slots().filter(function (s) { return s.getAttribute("sse-swap") === name; })[0] || null;
    }

    function set(state) {
      if (stream.dataset.stream === state) return;
      stream.dataset.stream = state;
      if (badge) badge.dataset.stream = state;
      if (label) label.textContent = WORDS[state];
    }
    function opened() {
      downSince = null;
      retries = 0;
      set(navigator.onLine === false ? "offline" : "live");
    }
    function failed() {
      if (downSince === null) downSince = Date.now();
      set(navigator.onLine === false || Date.now() - downSince > OFFLINE_AFTER ? "offline" : "reconnecting");
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

    // stale marks
    function title(slot) {
      var named = slot.querySelector("[aria-label]");
      return (named && named.getAttribute("aria-label")) || slot.id;
    }
    function fresh(slot) {
      if (!slot || !slot.hasAttribute("data-stale-after")) return;
      slot._liveSeen = Date.now();
      if (!slot.hasAttribute("data-stale")) return;
      slot.removeAttribute("data-stale");
      var mark = slot.querySelector(".stale-mark");
      if (mark) mark.remove();
      announcer.textContent = title(slot) + ": updated";
    }
    // a poll brings the last stored fragment, which may be the same stale value again
    function shownIn(slot) {
      return Array.prototype.filter.call(slot.children, function (c) { return !c.matches(".stale-mark"); })
        .map(function (c) { return c.outerHTML; }).join("");
    }
    function polled(slot) {
      var shown = shownIn(slot);
      if (shown === slot._liveShown) return;
      slot._liveShown = shown;
      fresh(slot);
    }
    function checkStale() {
      var now = Date.now();
      slots().forEach(function (slot) {
        var after = parseFloat(slot.getAttribute("data-stale-after"));
        if (!(after > 0) || slot._liveSeen == null) return;
        var quiet = now - slot._liveSeen;
        if (quiet <= after * 1000) return;
        if (!slot.hasAttribute("data-stale")) {
          slot.setAttribute("data-stale", "");
          announcer.textContent = title(slot) + ": stale, no update for " + ago(quiet);
        }
        var mark = slot.querySelector(".stale-mark");
        if (!mark) {
          mark = document.createElement("p");
          mark.className = "stale-mark";
          mark.setAttribute("aria-hidden", "true"); // announced once by the stream's status line
          slot.appendChild(mark);
        }
        mark.textContent = "Stale · no update for " + ago(quiet);
      });
    }
    slots().forEach(function (slot) {
      var age = parseFloat(slot.getAttribute("data-age"));
      if (age >= 0) slot._liveSeen = loadedAt - age * 1000;
      slot._liveShown = shownIn(slot);
    });
    window.setInterval(checkStale, 500);

    // poll_rate: each such slot polls while the stream is not live
    slots().forEach(function (slot) {
      var every = parseFloat(slot.getAttribute("data-poll-every"));
      if (!(every > 0)) return;
      window.setInterval(function () {
        if (stream.dataset.stream !== "live" && slot.isConnected) slot.dispatchEvent(new CustomEvent("live-poll"));
      }, every * 1000);
    });

    // htmx 2: its sse extension (EventSource)
    stream.addEventListener("htmx:sseOpen", opened);
    stream.addEventListener("htmx:sseError", failed);
    stream.addEventListener("htmx:sseMessage", function (evt) {
      touched();
      if (mine(evt.target)) { fresh(evt.target); evt.target._liveShown = shownIn(evt.target); }
    });
    stream.addEventListener("htmx:afterSwap", function (evt) {
      if (evt.detail.requestConfig) { touched(); if (mine(evt.target)) polled(evt.target); }
    });

    // htmx 4: its hx-sse extension (fetch)
    var swapping = null;
    stream.addEventListener("htmx:after:sse:connection", opened);
    stream.addEventListener("htmx:sse:error", function (evt) { if (evt.target === stream) failed(); });
    stream.addEventListener("htmx:before:sse:message", function (evt) {
      if (evt.target !== stream) return;
      var message = evt.detail.message;
      var slot = message.event ? slotFor(message.event) : null;
      if (!slot) return;
      if (!slot.dataset.liveSlot) slot.dataset.liveSlot = String(++slotNumber);
      message.data = '<hx-partial hx-target="[data-live-slot=\'' + slot.dataset.liveSlot + '\']" hx-swap="innerHTML">' +
        message.data + "</hx-partial>";
      message.event = "";
      fresh(slot);
      swapping = slot;
    });
    stream.addEventListener("htmx:after:sse:message", function (evt) {
      if (evt.target !== stream) return;
      touched();
      if (swapping) swapping._liveShown = shownIn(swapping);
      swapping = null;
    });
    stream.addEventListener("htmx:after:swap", function (evt) {
      var source = evt.detail.ctx && evt.detail.ctx.sourceElement;
      if (source && source !== stream && mine(source) && source.hasAttribute("sse-swap")) { touched(); polled(source); }
    });
    // the first connect goes through htmx's request pipeline, which does not retry: a refused one
    // (a 502 from Pushpin, not an event stream) or a failed one is tried again with backoff
    var requested = false;
    function connect() { htmx.ajax("GET", stream.getAttribute("hx-sse:connect"), {source: stream}); }
    stream.addEventListener("htmx:config:request", function (evt) {
      if (evt.detail.ctx && evt.detail.ctx.sourceElement === stream) requested = true;
    });
    // htmx 4 starts a tick after its own script runs; when its SSE extension's script (deferred
    // too, loaded in parallel) ran later, that start passed the stream by: connect it here
    stream._liveStartMissed = function () {
      if (!requested && stream.hasAttribute("hx-sse:connect") && typeof htmx === "object") connect();
    };
    function retry() {
      failed();
      if (retryTimer !== null) return;
      var delay = Math.min(RETRY_FIRST * Math.pow(2, retries), RETRY_MAX) * (0.7 + Math.random() * 0.6);
      retries++;
      retryTimer = window.setTimeout(function () {
        retryTimer = null;
        if (stream.isConnected) connect();
      }, delay);
    }
    function connectFailed(evt) {
      var ctx = evt.detail && evt.detail.ctx;
      if (ctx && ctx.sourceElement === stream) retry();
    }
    stream.addEventListener("htmx:after:request", connectFailed); // an SSE response never gets here
    stream.addEventListener("htmx:error", connectFailed);

    window.addEventListener("offline", function () { set("offline"); });
    window.addEventListener("online", function () { if (stream.dataset.stream === "offline") set("reconnecting"); });
    window.setInterval(function () {
      if (downSince !== null && Date.now() - downSince > OFFLINE_AFTER) set("offline");
    }, 5000);
  }

  function wireAll() { document.querySelectorAll("[data-live-stream]").forEach(wire); }
  function wireIn(evt) {
    var root = evt.target;
    if (root.matches && root.matches("[data-live-stream]")) wire(root);
    if (root.querySelectorAll) root.querySelectorAll("[data-live-stream]").forEach(wire);
  }
  // deferred, and loaded before htmx: runs before htmx opens any stream
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wireAll);
  else wireAll();
  // every deferred script has run by DOMContentLoaded (this one runs before it, the document
  // already "interactive"), and htmx's start (queued when its script ran, or run in its own
  // DOMContentLoaded listener) comes before this timer
  var startChecked = false;
  function startMissed() {
    if (startChecked) return;
    startChecked = true;
    window.setTimeout(function () {
      document.querySelectorAll("[data-live-stream]").forEach(function (s) { if (s._liveStartMissed) s._liveStartMissed(); });
    });
  }
  if (document.readyState === "complete") startMissed();
  else {
    document.addEventListener("DOMContentLoaded", startMissed);
    window.addEventListener("load", startMissed);
  }
  // streams that arrive later (an htmx swap that brings a live region)
  document.addEventListener("htmx:load", wireIn); // htmx 2
  document.addEventListener("htmx:after:process", wireIn); // htmx 4
})();
