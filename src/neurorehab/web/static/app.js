// Draws every chart on the page (and in content htmx swaps in) from its JSON script element:
// <div class="chart" data-src="ID"></div> + <script type="application/json" id="ID">.
// No inline script anywhere: the Content-Security-Policy allows only this server's files.
(function () {
  function draw(root) {
    root.querySelectorAll("div.chart[data-src]").forEach(function (div) {
      var src = document.getElementById(div.dataset.src);
      if (!src || typeof Plotly === "undefined") return;
      var spec = JSON.parse(src.textContent);
      Plotly.newPlot(div, spec.traces, spec.layout, {displaylogo: false, responsive: true});
      div.dataset.drawn = "1";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (e) { draw(e.target); });
  // Confirmation for buttons that say so (no inline handlers).
  document.addEventListener("submit", function (e) {
    var msg = e.target.dataset.confirm;
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
})();
