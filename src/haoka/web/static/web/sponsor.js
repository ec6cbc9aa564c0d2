/* haoka sponsor console: the daily chart (ECharts), one metric at a time, a series per
   campaign (name · apps). Data from #sponsor-chart-data (fen for money, MB for data). */
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("sponsor-chart");
  if (!el || !window.echarts) return;
  var d = JSON.parse(document.getElementById("sponsor-chart-data").textContent);
  var chart = window.echarts.init(el, null, { renderer: "svg" });
  var font = getComputedStyle(document.body).fontFamily;
  var units = { mb: "MB", lines: "号码", spend_fen: "" };
  function show(metric, value) {
    if (metric === "spend_fen") return "¥" + (value / 100).toFixed(2);
    return metric === "mb" ? value + " MB" : value + " 个号码";
  }
  function draw(metric) {
    chart.setOption({
      textStyle: { fontFamily: font },
      color: ["#ff5a1f", "#2459c7", "#16a34a", "#f59e0b", "#8b5cf6", "#0891b2"],
      grid: { left: 8, right: 8, top: 48, bottom: 4, containLabel: true },
      legend: { top: 0, type: "scroll", itemWidth: 12, itemHeight: 8 },
      tooltip: {
        trigger: "axis", axisPointer: { type: "shadow" }, confine: true,
        formatter: function (items) {
          var out = items.length ? items[0].axisValue : "";
          items.forEach(function (it) { out += "<br>" + it.marker + it.seriesName + "：" + show(metric, it.value); });
          return out;
        }
      },
      xAxis: { type: "category", data: d.days, axisTick: { show: false },
               axisLabel: { color: "#8a8f99", fontSize: 10, interval: 6 } },
      yAxis: { type: "value", name: units[metric], minInterval: metric === "lines" ? 1 : 0,
               nameTextStyle: { color: "#8a8f99", fontSize: 10 },
               axisLabel: { color: "#8a8f99", fontSize: 10, formatter: function (v) {
                 return metric === "spend_fen" ? "¥" + (v / 100).toFixed(v % 100 ? 2 : 0) : v; } },
               splitLine: { lineStyle: { color: "#eceef2" } } },
      series: d.campaigns.map(function (c) {
        return { name: c.name, type: "bar", stack: "all", data: c[metric], barMaxWidth: 10 };
      })
    }, true);
  }
  draw("mb");
  document.querySelectorAll("[data-metric]").forEach(function (button) {
    button.addEventListener("click", function () {
      document.querySelectorAll("[data-metric]").forEach(function (b) {
        b.classList.toggle("active", b === button);
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
      draw(button.getAttribute("data-metric"));
    });
  });
  el.setAttribute("data-ready", "1");
  window.addEventListener("resize", function () { chart.resize(); });
});
