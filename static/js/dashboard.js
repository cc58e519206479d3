// The dashboard's chart: cumulative doses and people against the target line (echarts, served locally).
(function () {
  "use strict";
  var box = document.getElementById("progress-chart");
  var source = document.getElementById("progress-chart-data");
  if (!box || !source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var chart = echarts.init(box, null, { renderer: "svg" });
  function line(name, values, extra) {
    return Object.assign({ name: name, type: "line", data: values, showSymbol: false }, extra || {});
  }
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 60, right: 20, top: 36, bottom: 30 },
    xAxis: { type: "category", data: data.dates, boundaryGap: false },
    yAxis: { type: "value" },
    series: [
      line(box.dataset.labelTarget, data.target, { lineStyle: { type: "dashed", color: "#888" }, itemStyle: { color: "#888" } }),
      line(box.dataset.labelDoses, data.doses, { areaStyle: { opacity: 0.08 } }),
      line(box.dataset.labelDose1, data.dose1),
      line(box.dataset.labelCompleted, data.completed),
    ].filter(function (series) { return series.name; }), // a one-dose campaign's page leaves out the lines that repeat "fully vaccinated"
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();

// The figures are at most a minute behind the records (reports.progress.progress_fresh): the open
// page reloads itself once a minute while it is seen, and at once when it is seen again after that.
(function () {
  "use strict";
  var EVERY = 60 * 1000;
  var loaded = Date.now();
  function reloadIfOld() {
    if (!document.hidden && Date.now() - loaded >= EVERY) window.location.reload();
  }
  window.setInterval(reloadIfOld, 5000);
  document.addEventListener("visibilitychange", reloadIfOld);
})();

// On a phone the long lists start folded (their heading opens them) and stay as the user left them
// when the page reloads itself; on a larger screen they stay open.
(function () {
  "use strict";
  if (!window.matchMedia("(max-width: 767.98px)").matches) return;
  document.querySelectorAll("details[data-fold-on-phone]").forEach(function (section) {
    var key = "dashboard-unfolded-" + section.id;
    section.open = window.sessionStorage.getItem(key) === "1";
    section.addEventListener("toggle", function () {
      window.sessionStorage.setItem(key, section.open ? "1" : "0");
    });
  });
})();
