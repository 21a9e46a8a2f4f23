// Draws the dashboard's message charts from the JSON the page embeds (no inline script, so a
// strict Content-Security-Policy can forbid them). Chart.js is served by us (vendor/chartjs).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-charts").textContent);
  Object.keys(data).forEach(function (id) {
    var canvas = document.getElementById(id);
    if (!canvas || typeof Chart === "undefined") return;
    var series = data[id];
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [
          { label: "Received", data: series.incoming, backgroundColor: "#0b6e63" },
          { label: "Sent", data: series.outgoing, backgroundColor: "#8fb8ad" }
        ]
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  });
})();
