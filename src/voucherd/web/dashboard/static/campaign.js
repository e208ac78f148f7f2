// The campaign page's charts: Chart.js (vendored) over the JSON block #daily-data, which holds
// the same numbers as the table under the charts (the page reads whole without this script).
(function () {
  "use strict";
  var block = document.getElementById("daily-data");
  if (!block || typeof window.Chart === "undefined") return;
  var data = JSON.parse(block.textContent);
  var online = "#0b45c7";
  var inStore = "#b35c00";

  function draw(id, first, second, money) {
    var canvas = document.getElementById(id);
    if (!canvas) return null;
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.days,
        datasets: [
          { label: "Online", data: first.map(Number), backgroundColor: online },
          { label: "In store", data: second.map(Number), backgroundColor: inStore }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: { stacked: true, ticks: { color: "#3d3d48", maxRotation: 0, autoSkip: true } },
          y: {
            stacked: true,
            beginAtZero: true,
            ticks: {
              color: "#3d3d48",
              precision: money ? undefined : 0,
              callback: function (value) { return money ? value + " " + data.currency : value; }
            }
          }
        },
        plugins: { legend: { labels: { color: "#16161d" } } }
      }
    });
  }

  window.voucherdCharts = {
    uses: draw("uses-chart", data.online, data.in_store, false),
    revenue: draw("revenue-chart", data.revenue_online, data.revenue_in_store, true)
  };
})();
