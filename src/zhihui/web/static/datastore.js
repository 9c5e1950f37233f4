/* The resource page's data panel: charts drawn by ECharts (from npm, served under
 * /static/vendor, loaded only when a chart is on the page) from the chart JSON endpoint, and
 * htmx told to show the panel's 4xx answers (a bad filter, a refused upload) instead of
 * dropping them. No inline script or style: the content security policy forbids both. */
(function () {
  "use strict";
  var ECHARTS = "/static/vendor/echarts/dist/echarts.min.js";
  var loading = null;

  function loadECharts() {
    if (window.echarts) { return Promise.resolve(window.echarts); }
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = ECHARTS;
        script.async = true;
        script.onload = function () { resolve(window.echarts); };
        script.onerror = function () { loading = null; reject(new Error("echarts")); };
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  function fetchJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) { throw new Error((body.error && body.error.message) || String(r.status)); }
          return body;
        });
      });
  }

  function title(el, data, column) {
    var unit = data.unit ? el.getAttribute("data-unit-" + data.unit) || data.unit : "";
    var text = el.getAttribute(data.kind === "histogram" ? "data-title-histogram" : "data-title-timeline") || column;
    return text.replace("{column}", column).replace("{unit}", unit);
  }

  function draw(el) {
    var column = el.getAttribute("data-column");
    if (!column) { return; }
    el.setAttribute("data-drawn", column);
    var url = el.getAttribute("data-src") + "?column=" + encodeURIComponent(column);
    if (el.getAttribute("data-version")) { url += "&version=" + encodeURIComponent(el.getAttribute("data-version")); }
    Promise.all([loadECharts(), fetchJSON(url)]).then(function (got) {
      var echarts = got[0], data = got[1];
      var chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "canvas" });
      chart.setOption({
        title: { text: title(el, data, column), textStyle: { fontSize: 14 } },
        tooltip: { trigger: "axis" },
        grid: { left: 48, right: 16, top: 40, bottom: 72 },
        xAxis: { type: "category", data: data.labels, axisLabel: { rotate: data.labels.length > 6 ? 45 : 0 } },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", data: data.counts, barCategoryGap: data.kind === "histogram" ? "4%" : "30%" }]
      }, true);
      el.classList.remove("ds-chart-failed");
    }).catch(function (err) {
      el.classList.add("ds-chart-failed");
      el.textContent = err.message;
    });
  }

  function drawAll() {
    var charts = document.querySelectorAll(".ds-chart");
    for (var i = 0; i < charts.length; i++) {
      if (charts[i].getAttribute("data-drawn") !== charts[i].getAttribute("data-column")) { draw(charts[i]); }
    }
  }

  document.addEventListener("change", function (evt) {
    var select = evt.target;
    if (!select.classList || !select.classList.contains("ds-chart-column")) { return; }
    var el = document.getElementById(select.getAttribute("data-chart"));
    if (el) { el.setAttribute("data-column", select.value); draw(el); }
  });

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    var elt = evt.detail.elt;
    if (status >= 400 && status < 500 && elt && elt.closest && elt.closest(".data-panel, .ds-preview, .ds-upload")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSettle", drawAll);
  window.addEventListener("resize", function () {
    if (!window.echarts) { return; }
    var charts = document.querySelectorAll(".ds-chart[data-drawn]");
    for (var i = 0; i < charts.length; i++) {
      var chart = window.echarts.getInstanceByDom(charts[i]);
      if (chart) { chart.resize(); }
    }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
}());
