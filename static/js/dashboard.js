/*
 * The admin's charts (dashboard, recommendation models, customers, gated-content model), drawn
 * with the vendored Chart.js, and the dashboard's sortable tables.
 *
 * A page embeds its data in <script type="application/json" id="chart-data"> (no inline code,
 * see templates/admin/_charts.html): {charts: {<key>: spec}}. Each <canvas data-chart="<key>">
 * gets the chart of that key. Two kinds of spec:
 *  - table charts (the dashboard; storefront/analytics/tables.py): {columns: [{key, label, kind}],
 *    rows: [[...]], chart: {type, x, series, stacked, right}}, the same tables the CSV downloads
 *    serve;
 *  - point charts (storefront/admin/charts.py): {type, labels, x, y, axes, equal_scale, link, tip,
 *    datasets: [{label, data, tips, colour, line, dashed, points}]}.
 * Charts fill the width of their box (its height comes from admin.css), so they fit a phone;
 * axis labels are thinned or shortened rather than drawn over each other. Without JavaScript the
 * tables next to the charts still show every number.
 */
(function () {
  "use strict";

  var PALETTE = ["#2f5bea", "#f79009", "#12b76a", "#f04438", "#7a5af8", "#06aed4", "#ee46bc", "#667085",
                 "#84cc16", "#b54708", "#1d2939", "#fdb022"];
  var NARROW = 560;  // px: a chart box narrower than this is on a phone

  function categoryTicks() {  // labels are thinned out, never drawn over each other or slanted
    return {autoSkip: true, autoSkipPadding: 8, maxRotation: 0};
  }

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
    if (kind === "score") {
      return function (v) { return compact ? String(Number(Number(v).toFixed(4))) : Number(v).toFixed(4); };
    }
    return function (v) { return Number(v).toLocaleString("en-US"); };
  }

  function shorten(label, chars) {
    return label.length > chars ? label.slice(0, chars - 1) + "…" : label;
  }

  function isNarrow(canvas) {
    return canvas.parentNode.clientWidth < NARROW;
  }

  /* ---- table charts (the dashboard) ---------------------------------------------------- */

  function columnIndex(spec, key) {
    for (var i = 0; i < spec.columns.length; i++) {
      if (spec.columns[i].key === key) { return i; }
    }
    return -1;
  }

  function tableDatasets(spec, chart) {
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
        if (chart.partial_last) {  // the last day is still going on: its segment dashed, not a drop
          var last = spec.rows.length - 1;
          set.segment = {borderDash: function (ctx) { return ctx.p1DataIndex === last ? [5, 5] : undefined; }};
        }
      }
      return set;
    });
  }

  function tableScales(spec, chart, sets, narrow) {
    var valueKind = sets.length ? sets[0].kind : "count";
    var valueAxis = {beginAtZero: true, stacked: chart.stacked,
                     ticks: {callback: formatter(valueKind, true), maxTicksLimit: narrow ? 5 : 8,
                             autoSkip: true, autoSkipPadding: 8, maxRotation: 0}};
    var labelAxis = {stacked: chart.stacked, ticks: categoryTicks()};
    if (chart.type === "hbar") {
      var chars = narrow ? 16 : 28;
      labelAxis.ticks = {autoSkip: false, callback: function (value) {
        return shorten(String(this.getLabelForValue(value)), chars);
      }};
      return {x: valueAxis, y: labelAxis};
    }
    var result = {x: labelAxis, y: valueAxis};
    if (chart.right && chart.right.length) {
      var left = sets.filter(function (s) { return s.yAxisID === "y"; }).map(function (s) { return s.label; });
      result.y.title = {display: !narrow, text: left.join(", ")};
      result.y1 = {position: "right", beginAtZero: true, grid: {drawOnChartArea: false},
                   title: {display: !narrow, text: "Other actions"},
                   ticks: {callback: formatter("count", true), maxTicksLimit: narrow ? 5 : 8}};
    }
    return result;
  }

  function drawTable(canvas, spec) {
    var chart = spec.chart;
    var labelIndex = columnIndex(spec, chart.x);
    var sets = tableDatasets(spec, chart);
    var narrow = isNarrow(canvas);
    if (chart.type === "hbar") {  // one bar per row: give long lists the height they need
      canvas.parentNode.style.height = Math.max(160, 26 * spec.rows.length + 50) + "px";
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
          legend: {display: sets.length > 1 || chart.type === "doughnut",
                   position: chart.type === "doughnut" && !narrow ? "right" : "top",
                   labels: {boxWidth: narrow ? 10 : 40}},
          tooltip: {callbacks: {label: function (item) {
            return " " + item.dataset.label + ": " + formatter(item.dataset.kind, false)(item.raw);
          }}}
        },
        scales: chart.type === "doughnut" ? {} : tableScales(spec, chart, sets, narrow)
      }
    });
  }

  /* ---- point charts (ML, customers, gated-content model) -------------------------------- */

  function colourOf(value, n) {
    if (typeof value === "string" && value.indexOf("--") === 0) {
      return getComputedStyle(document.documentElement).getPropertyValue(value).trim() || PALETTE[7];
    }
    return PALETTE[(typeof value === "number" ? value : n) % PALETTE.length];
  }

  function translucent(colour, alpha) {
    var hex = /^#([0-9a-f]{6})$/i.exec(colour);
    if (!hex) { return colour; }
    var v = parseInt(hex[1], 16);
    return "rgba(" + (v >> 16) + "," + ((v >> 8) & 255) + "," + (v & 255) + "," + alpha + ")";
  }

  function pointDatasets(spec, narrow) {
    return spec.datasets.map(function (d, n) {
      var colour = colourOf(d.colour, n);
      var crowd = d.data.length > 150;  // the customer map: small dots with a white rim
      var radius = d.points === false ? 0 : (crowd ? (narrow ? 2.5 : 3.5) : 3.5);
      return {
        label: d.label, data: d.data, tips: d.tips || null, format: (spec.y || {}).format,
        showLine: spec.type === "line" || !!d.line, spanGaps: false, tension: 0,
        borderColor: colour, backgroundColor: crowd ? translucent(colour, 0.8) : colour,
        pointBorderColor: crowd ? "#fff" : colour, pointBorderWidth: crowd ? 0.6 : 1,
        pointRadius: radius, pointHoverRadius: radius + 2, pointHitRadius: crowd ? 2 : 8,
        pointStyle: d.points === false ? "line" : "circle",
        borderWidth: 2, borderDash: d.dashed ? [5, 5] : [], silent: d.points === false
      };
    });
  }

  function pointAxis(spec, which, narrow, category) {
    var conf = spec[which] || {};
    var axis = {display: spec.axes !== false};
    if (category) {
      axis.type = "category";
      axis.ticks = categoryTicks();
    } else {
      axis.type = "linear";
      axis.position = which === "x" ? "bottom" : "left";
      axis.ticks = {maxTicksLimit: narrow ? 5 : 8};
      if (conf.format === "rate") { axis.ticks.callback = formatter("rate", true); }
    }
    if (conf.min !== undefined) { axis.min = conf.min; }
    if (conf.max !== undefined) { axis.max = conf.max; }
    if (conf.title) { axis.title = {display: true, text: conf.title}; }
    return axis;
  }

  /* One unit is as many pixels on x as on y (the customer map: distances are the point), the
     cloud centred. The ranges are set from the plot area of the last layout; when the area
     changes (the first draw, a resize, the legend wrapping) the chart is drawn once more. The
     box's height follows the cloud's proportions (within MAP_HEIGHTS), so little of it is empty. */
  var MAP_HEIGHTS = [260, 560];
  var MARGIN = 1.06;  // room around the cloud for the dots themselves

  function equalScale(sets) {
    var b = {minX: Infinity, maxX: -Infinity, minY: Infinity, maxY: -Infinity};
    sets.forEach(function (set) {
      set.data.forEach(function (p) {
        b.minX = Math.min(b.minX, p.x); b.maxX = Math.max(b.maxX, p.x);
        b.minY = Math.min(b.minY, p.y); b.maxY = Math.max(b.maxY, p.y);
      });
    });
    var spanX = b.maxX - b.minX || 1, spanY = b.maxY - b.minY || 1;
    var used = null;
    function area(chart) {
      var a = chart.chartArea;
      return a ? [a.right - a.left, a.bottom - a.top] : [chart.width, chart.height];
    }
    function limits(scale) {
      if (!isFinite(b.minX)) { return; }
      used = area(scale.chart);
      var unit = Math.min(used[0] / spanX, used[1] / spanY) / MARGIN;  // px per unit
      var horizontal = scale.axis === "x";
      var half = (horizontal ? used[0] : used[1]) / unit / 2;
      var middle = horizontal ? (b.minX + b.maxX) / 2 : (b.minY + b.maxY) / 2;
      scale.min = middle - half;
      scale.max = middle + half;
    }
    var plugin = {
      id: "equalScale",
      afterLayout: function (chart) {
        var now = area(chart);
        var box = chart.canvas.parentNode;
        var wanted = Math.round(now[0] * spanY / spanX * MARGIN + (chart.height - now[1]));
        wanted = Math.max(MAP_HEIGHTS[0], Math.min(MAP_HEIGHTS[1], wanted));
        if (Math.abs(wanted - box.clientHeight) > 4) {
          box.style.height = wanted + "px";  // Chart.js sees its box resize and lays out again
        } else if (used && (Math.abs(now[0] - used[0]) > 1 || Math.abs(now[1] - used[1]) > 1) && !chart.$equalPending) {
          chart.$equalPending = true;
          window.requestAnimationFrame(function () { chart.$equalPending = false; chart.update("none"); });
        }
      }
    };
    return {limits: limits, plugin: plugin};
  }

  function tipOf(spec, item) {
    var set = item.dataset;
    if (set.tips && set.tips[item.dataIndex]) { return set.tips[item.dataIndex]; }
    if (spec.tip && item.raw && item.raw.id !== undefined) { return spec.tip.replace("{id}", item.raw.id); }
    return set.label + ": " + formatter(set.format, false)(item.parsed.y);
  }

  /* A click on a point opens its page; on a touch screen the first tap shows the tooltip and
     a second tap on the same point opens it. */
  function linker(spec) {
    var armed = null;
    return {
      onClick: function (event, elements, chart) {
        if (!elements.length) { armed = null; return; }
        var hit = elements[0];
        var point = chart.data.datasets[hit.datasetIndex].data[hit.index];
        if (!point || point.id === undefined) { return; }
        var native = event.native || {};
        var key = hit.datasetIndex + ":" + hit.index;
        if ((native.pointerType === "touch" || native.pointerType === "pen") && armed !== key) {
          armed = key;
          return;
        }
        window.location.assign(spec.link.replace("{id}", encodeURIComponent(point.id)));
      },
      onHover: function (event, elements) {
        if (event.native && event.native.target) {
          event.native.target.style.cursor = elements.length ? "pointer" : "default";
        }
      }
    };
  }

  function drawPoints(canvas, spec) {
    var narrow = isNarrow(canvas);
    var sets = pointDatasets(spec, narrow);
    var category = !!spec.labels;
    var scales = {x: pointAxis(spec, "x", narrow, category), y: pointAxis(spec, "y", narrow, false)};
    var plugins = [];
    if (spec.equal_scale) {
      var equal = equalScale(sets);
      scales.x.afterDataLimits = equal.limits;
      scales.y.afterDataLimits = equal.limits;
      plugins.push(equal.plugin);
    }
    var options = {
      animation: false,
      maintainAspectRatio: false,
      layout: {padding: {top: 4, right: spec.axes === false ? 0 : 14}},
      interaction: category ? {mode: "index", intersect: false} : {mode: "nearest", intersect: true},
      plugins: {
        legend: {
          display: sets.length > 1,
          position: spec.equal_scale && !narrow ? "right" : "top",
          labels: {usePointStyle: true, boxWidth: 8, boxHeight: 8, padding: narrow ? 8 : 10}
        },
        tooltip: {
          filter: function (item) { return !item.dataset.silent && item.raw !== null; },
          callbacks: {
            title: function (items) {
              if (!items.length) { return ""; }
              if (category) {
                var label = spec.labels[items[0].dataIndex];
                return Array.isArray(label) ? label.join(" ") : String(label);
              }
              return spec.tip ? items[0].dataset.label : "";
            },
            label: function (item) { return " " + tipOf(spec, item); }
          }
        }
      },
      scales: scales
    };
    if (spec.link) {
      var handlers = linker(spec);
      options.onClick = handlers.onClick;
      options.onHover = handlers.onHover;
    }
    return new window.Chart(canvas, {
      type: category ? "line" : "scatter",
      data: category ? {labels: spec.labels, datasets: sets} : {datasets: sets},
      options: options,
      plugins: plugins
    });
  }

  function drawAll() {
    var source = document.getElementById("chart-data");
    if (!source || !window.Chart) { return; }
    var data = JSON.parse(source.textContent);
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = "#475467";
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = data.charts[canvas.getAttribute("data-chart")];
      if (!spec) { return; }
      if (spec.datasets) {
        drawPoints(canvas, spec);
      } else if (spec.chart && spec.rows.length) {
        drawTable(canvas, spec);
      }
    });
  }

  /* ---- sortable tables ------------------------------------------------------------------ */

  /* A click on a header sorts by that column (numbers as numbers, using the raw value in
     data-value, not the formatted text), a second click reverses. */
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
