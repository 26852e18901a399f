// The dashboards' live parts: charts drawn with Chart.js (served by Launchpad) and a self-refresh.
//
// [data-dashboard-refresh="url"][data-interval="seconds"]: every interval (the status cache's TTL), while the
//   tab is visible, the element is replaced by what GET url returns, and its charts are drawn again.
// <script id="chart-data" type="application/json">: the charts, [{title, unit, error, start, end,
//   series: [{label, points: [[ms, value], ...]}]}]; [data-chart="i"] holds the canvas of chart i.
(function () {
  "use strict";

  var COLOURS = ["#2563eb", "#e8590c", "#15803d", "#9333ea", "#c62828", "#0891b2"];
  var MINIMUM_INTERVAL = 10;
  var drawn = [];

  var WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

  // Times as the rest of Launchpad writes them: 24-hour, in UTC, whatever the browser's zone and locale.
  function clock(milliseconds, withDay) {
    var time = new Date(milliseconds);
    var text = ("0" + time.getUTCHours()).slice(-2) + ":" + ("0" + time.getUTCMinutes()).slice(-2);
    return withDay ? WEEKDAYS[time.getUTCDay()] + " " + text : text;
  }

  function drawCharts(root) {
    drawn.forEach(function (chart) { chart.destroy(); });
    drawn = [];
    var source = root.querySelector("#chart-data");
    if (!source || typeof window.Chart === "undefined") return;
    var charts = JSON.parse(source.textContent);
    root.querySelectorAll("[data-chart]").forEach(function (holder) {
      var chart = charts[Number(holder.dataset.chart)];
      var canvas = holder.querySelector("canvas");
      if (!chart || !canvas) return;
      var long = chart.end - chart.start > 6 * 3600 * 1000;
      drawn.push(new window.Chart(canvas, {
        type: "line",
        data: {
          datasets: chart.series.map(function (series, index) {
            return {
              label: series.label,
              data: series.points.map(function (point) { return { x: point[0], y: point[1] }; }),
              borderColor: COLOURS[index % COLOURS.length],
              backgroundColor: COLOURS[index % COLOURS.length],
              borderWidth: 1.5,
              pointRadius: 0,
              tension: 0.2
            };
          })
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          interaction: { mode: "nearest", axis: "x", intersect: false },
          scales: {
            x: {
              type: "linear",
              min: chart.start,
              max: chart.end,
              title: { display: true, text: "Time (UTC)" },
              ticks: { maxTicksLimit: long ? 5 : 7, maxRotation: 0, callback: function (value) { return clock(value, long); } }
            },
            y: { beginAtZero: true, title: { display: true, text: chart.unit } }
          },
          plugins: {
            legend: { position: "bottom", labels: { boxWidth: 12 } },
            tooltip: { callbacks: { title: function (items) { return items.length ? clock(items[0].parsed.x, long) + " UTC" : ""; } } },
            subtitle: {
              display: chart.series.every(function (series) { return series.points.length === 0; }),
              text: "No datapoints in this window."
            }
          }
        }
      }));
    });
  }

  function refresh(element) {
    var seconds = Math.max(Number(element.dataset.interval) || 30, MINIMUM_INTERVAL);
    window.setTimeout(function () {
      if (!element.isConnected) return;
      if (document.hidden) return refresh(element);
      fetch(element.dataset.dashboardRefresh, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.text();
        })
        .then(function (html) {
          var holder = document.createElement("template");
          holder.innerHTML = html.trim();
          var replacement = holder.content.firstElementChild;
          // Anything but the live part (a login page once the session has ended): show it as a page.
          if (!replacement || !replacement.dataset.dashboardRefresh) return window.location.reload();
          element.replaceWith(replacement);
          drawCharts(replacement);
          refresh(replacement);
        })
        .catch(function () { refresh(element); });
    }, seconds * 1000);
  }

  function start() {
    document.querySelectorAll("[data-dashboard-refresh]").forEach(function (element) {
      drawCharts(element);
      refresh(element);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
