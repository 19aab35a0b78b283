/*
 * Admin dashboard: draws the charts with the vendored Chart.js and makes the tables sortable.
 *
 * The page embeds its data in <script type="application/json" id="dashboard-data"> (no inline
 * code): {charts: {<key>: {columns: [{key, label, kind}], rows: [[...]], chart: {type, x,
 * series, stacked, right}}}}, the same tables the CSV downloads serve. Each
 * <canvas data-chart="<key>"> gets the chart of that key. Without JavaScript the tables still
 * show every number.
 */
(function () {
  "use strict";

  var PALETTE = ["#2f5bea", "#f79009", "#12b76a", "#f04438", "#7a5af8", "#06aed4", "#ee46bc", "#667085",
                 "#84cc16", "#b54708", "#1d2939", "#fdb022"];

  function formatter(kind, compact) {
    if (kind === "money") {
      return function (v) {
        return "$" + Number(v).toLocaleString("en-US", {maximumFractionDigits: compact ? 0 : 2,
                                                         minimumFractionDigits: compact ? 0 : 2});
      };
    }
    if (kind === "rate") {
      return function (v) { return (100 * v).toFixed(1) + "%"; };
    }
    return function (v) { return Number(v).toLocaleString("en-US"); };
  }

  function columnIndex(spec, key) {
    for (var i = 0; i < spec.columns.length; i++) {
      if (spec.columns[i].key === key) { return i; }
    }
    return -1;
  }

  function datasets(spec, chart) {
    var single = chart.series.length === 1;
    return chart.series.map(function (key, n) {
      var index = columnIndex(spec, key);
      var colour = PALETTE[n % PALETTE.length];
      var values = spec.rows.map(function (row) { return row[index]; });
      var set = {label: spec.columns[index].label, data: values, kind: spec.columns[index].kind};
      if (chart.type === "doughnut") {
        set.backgroundColor = values.map(function (_, i) { return PALETTE[i % PALETTE.length]; });
      } else {
        set.backgroundColor = single ? PALETTE[0] : colour;
        set.borderColor = single ? PALETTE[0] : colour;
      }
      if (chart.type === "line") {
        set.pointRadius = spec.rows.length > 60 ? 0 : 2;
        set.borderWidth = 2;
        set.tension = 0.2;
        set.yAxisID = chart.right.indexOf(key) >= 0 ? "y1" : "y";
      }
      return set;
    });
  }

  function scales(spec, chart, sets) {
    var valueKind = sets.length ? sets[0].kind : "count";
    var valueAxis = {beginAtZero: true, ticks: {callback: formatter(valueKind, true)}, stacked: chart.stacked};
    var labelAxis = {stacked: chart.stacked, ticks: {autoSkip: spec.rows.length > 12, maxRotation: 0}};
    if (chart.type === "hbar") {
      labelAxis.ticks = {autoSkip: false, callback: function (value) {
        var label = this.getLabelForValue(value);
        return label.length > 28 ? label.slice(0, 27) + "…" : label;
      }};
      return {x: valueAxis, y: labelAxis};
    }
    var result = {x: labelAxis, y: valueAxis};
    if (chart.right && chart.right.length) {
      var left = sets.filter(function (s) { return s.yAxisID === "y"; }).map(function (s) { return s.label; });
      result.y.title = {display: true, text: left.join(", ")};
      result.y1 = {position: "right", beginAtZero: true, grid: {drawOnChartArea: false},
                   title: {display: true, text: "Other actions"}, ticks: {callback: formatter("count", true)}};
    }
    return result;
  }

  function draw(canvas, spec) {
    var chart = spec.chart;
    var labelIndex = columnIndex(spec, chart.x);
    var sets = datasets(spec, chart);
    var box = canvas.parentNode;
    if (chart.type === "hbar") {  // one bar per row: give long lists the height they need
      box.style.height = Math.max(160, 26 * spec.rows.length + 50) + "px";
    }
    return new window.Chart(canvas, {
      type: chart.type === "hbar" ? "bar" : chart.type,
      data: {labels: spec.rows.map(function (row) { return String(row[labelIndex]); }), datasets: sets},
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: chart.type === "hbar" ? "y" : "x",
        interaction: {mode: chart.type === "doughnut" ? "nearest" : "index", intersect: false},
        plugins: {
          legend: {display: sets.length > 1 || chart.type === "doughnut", position: chart.type === "doughnut" ? "right" : "top"},
          tooltip: {callbacks: {label: function (item) {
            return " " + item.dataset.label + ": " + formatter(item.dataset.kind, false)(item.raw);
          }}}
        },
        scales: chart.type === "doughnut" ? {} : scales(spec, chart, sets)
      }
    });
  }

  function drawAll() {
    var source = document.getElementById("dashboard-data");
    if (!source || !window.Chart) { return; }
    var data = JSON.parse(source.textContent);
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = "#475467";
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = data.charts[canvas.getAttribute("data-chart")];
      if (spec && spec.chart && spec.rows.length) { draw(canvas, spec); }
    });
  }

  /* Sortable tables: a click on a header sorts by that column (numbers as numbers, using the
     raw value in data-value, not the formatted text), a second click reverses. */
  function sortTable(table, column, kind, button) {
    var th = button.parentNode;
    var descending = th.getAttribute("aria-sort") !== "descending";
    if (kind === "text" && th.getAttribute("aria-sort") === "none") { descending = false; }
    table.querySelectorAll("thead th").forEach(function (other) { other.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[column].getAttribute("data-value");
      var y = b.cells[column].getAttribute("data-value");
      var order;
      if (kind === "text") {
        order = x.localeCompare(y, undefined, {numeric: true});
      } else {
        var nx = x === "" ? -Infinity : parseFloat(x);  // empty (no value) sorts lowest
        var ny = y === "" ? -Infinity : parseFloat(y);
        order = nx === ny ? 0 : (nx < ny ? -1 : 1);
      }
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function enableSorting() {
    document.querySelectorAll("table[data-sortable]").forEach(function (table) {
      table.addEventListener("click", function (event) {
        var button = event.target.closest("button.sort-button");
        if (!button) { return; }
        sortTable(table, Number(button.getAttribute("data-column")), button.getAttribute("data-kind"), button);
      });
    });
  }

  function start() {
    enableSorting();
    drawAll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
