// Draws every plotly figure on the page: a div[data-chart] names the json_script element holding its figure.
// Runs on page load and on every htmx swap (htmx.onLoad), so lazily loaded partials draw themselves.
(function () {
  "use strict";
  var CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
  var WEBGL = (function () {
    try {
      var canvas = document.createElement("canvas");
      return !!(window.WebGLRenderingContext && (canvas.getContext("webgl") || canvas.getContext("experimental-webgl")));
    } catch (e) { return false; }
  })();

  // Without WebGL (locked-down browsers, GPU-less VMs) large graphs still draw, as SVG.
  function fallback(traces) {
    if (WEBGL) return traces;
    traces.forEach(function (t) { if (t.type === "scattergl") t.type = "scatter"; });
    return traces;
  }

  function draw(div) {
    if (div.dataset.drawn) return;
    var source = document.getElementById(div.dataset.chart);
    if (!source || typeof Plotly === "undefined") return;
    var fig = JSON.parse(source.textContent);
    div.dataset.drawn = "1";
    Plotly.newPlot(div, fallback(fig.data), fig.layout, CONFIG).then(function () {
      // A browser can offer a WebGL context that plotly still cannot use: redraw as SVG then.
      if (/WebGL is not supported/.test(div.textContent)) {
        WEBGL = false;
        Plotly.purge(div);
        return Plotly.newPlot(div, fallback(fig.data), fig.layout, CONFIG);
      }
    }).then(function () {
      div.setAttribute("data-rendered", "1");
    });
    div.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      var ref = point && point.customdata;
      if (!ref) return;
      if (String(ref).charAt(0) === "/") {
        window.location.href = ref;  // e.g. a bar that stands for a case
      } else if (div.dataset.nodeUrl) {
        htmx.ajax("GET", div.dataset.nodeUrl + "?ref=" + encodeURIComponent(ref), {
          target: div.dataset.nodeTarget, swap: "outerHTML"
        });
      }
    });
  }

  function drawAll(root) {
    var divs = (root.querySelectorAll ? root : document).querySelectorAll("[data-chart]");
    if (root.matches && root.matches("[data-chart]")) draw(root);
    divs.forEach(draw);
  }

  htmx.onLoad(drawAll);
})();
