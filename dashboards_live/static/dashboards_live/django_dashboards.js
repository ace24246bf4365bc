/* dashboards_live: redraws django-dashboards' Plotly charts (SSEChart) with the figure each event carries.
   An event carries data, never a script: a <script type="application/json"> holding the figure inside
   .dl-plotly. When an event replaces a chart's fragment, the chart already drawn is put back in place of
   the new empty one and Plotly.react updates it, so it changes in place. Watching the DOM, not htmx's
   events, works with whichever htmx the page loads. */
(function () {
  "use strict";

  function draw(box, drawn) {
    var data = box.querySelector(":scope > script[type='application/json']");
    var plot = box.querySelector(":scope > .dl-plotly-plot");
    if (!data || !plot || !window.Plotly) return;
    if (drawn && drawn !== plot) {
      plot.replaceWith(drawn);
      plot = drawn;
    }
    var figure = JSON.parse(data.textContent);
    var config = JSON.parse(box.getAttribute("data-plotly-config") || "{}");
    window.Plotly.react(plot, figure.data || [], figure.layout || {}, config);
  }

  function boxesIn(node) {
    if (node.nodeType !== 1) return [];
    if (node.matches(".dl-plotly")) return [node];
    return Array.prototype.slice.call(node.querySelectorAll(".dl-plotly"));
  }

  function drawnIn(node) {
    if (node.nodeType !== 1) return null;
    var plot = node.matches(".dl-plotly-plot") ? node : node.querySelector(".dl-plotly-plot");
    return plot && plot.data ? plot : null; // Plotly keeps the figure on the element it drew
  }

  new MutationObserver(function (records) {
    var removed = new Map(); // slot -> the chart drawn there before this swap
    records.forEach(function (record) {
      record.removedNodes.forEach(function (node) {
        var drawn = drawnIn(node);
        if (drawn) removed.set(record.target, drawn);
      });
    });
    records.forEach(function (record) {
      record.addedNodes.forEach(function (node) {
        boxesIn(node).forEach(function (box) {
          draw(box, removed.get(record.target) || null);
        });
      });
    });
  }).observe(document.documentElement, { childList: true, subtree: true });

  function drawAll() {
    document.querySelectorAll(".dl-plotly").forEach(function (box) { draw(box, null); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
