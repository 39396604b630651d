// Draws the report's charts from the JSON embedded in the page (see app/src/html_report).
// Time-based charts share their visible range; hovering shows values in each chart's legend.
// When done, `body[data-status]` is "drawn" and `body[data-drawn]` counts, per chart, the pixels
// drawn in its main series' colour (the browser test reads both).
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var LC = window.LightweightCharts;
  var palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];
  var colors = { up: '#26a69a', down: '#ef5350', total: '#111111', buyHold: '#999999', drawdown: '#d62728' };
  var timeCharts = [];
  var checks = [];

  function format(value, digits) {
    return value === undefined || value === null ? 'n/a' : Number(value).toFixed(digits);
  }
  function timeText(seconds) {
    var text = new Date(seconds * 1000).toISOString();
    return data.intraday ? text.slice(0, 16).replace('T', ' ') : text.slice(0, 10);
  }
  function makeChart(id, options) {
    var element = document.getElementById(id);
    var base = {
      autoSize: true,
      layout: { background: { color: '#ffffff' }, textColor: '#333333', attributionLogo: true },
      grid: { vertLines: { color: '#f2f2f2' }, horzLines: { color: '#f2f2f2' } },
      crosshair: { mode: LC.CrosshairMode.Normal },
      // A small minimum spacing lets `fitContent` show every bar of a long run at once.
      timeScale: { timeVisible: data.intraday, secondsVisible: false, borderColor: '#cccccc', minBarSpacing: 0.001 },
      rightPriceScale: { borderColor: '#cccccc' },
      localization: { timeFormatter: timeText }
    };
    var chart = LC.createChart(element, Object.assign(base, options || {}));
    return chart;
  }
  function line(points) {
    return points.map(function (p) { return { time: p[0], value: p[1] }; });
  }
  function legend(id, chart, describe) {
    var element = document.getElementById(id);
    chart.subscribeCrosshairMove(function (param) {
      element.textContent = param && param.time !== undefined ? describe(param) : '';
    });
  }
  // Keeps every time-based chart showing the same span as the one the user zooms or pans.
  function syncTimeRanges() {
    var syncing = false;
    timeCharts.forEach(function (source) {
      source.timeScale().subscribeVisibleTimeRangeChange(function (range) {
        if (syncing || !range) { return; }
        syncing = true;
        timeCharts.forEach(function (other) {
          if (other !== source) {
            try { other.timeScale().setVisibleRange(range); } catch (e) { /* no data in range */ }
          }
        });
        syncing = false;
      });
    });
  }
  // The candle a time falls in: the last whose open is at or before it.
  function candleTime(candles, seconds) {
    var low = 0, high = candles.length - 1;
    if (high < 0 || seconds <= candles[0][0]) { return high < 0 ? seconds : candles[0][0]; }
    while (low < high) {
      var mid = (low + high + 1) >> 1;
      if (candles[mid][0] <= seconds) { low = mid; } else { high = mid - 1; }
    }
    return candles[low][0];
  }

  function priceChart(series, at) {
    var chart = makeChart('chart-price-' + at);
    var candles = chart.addSeries(LC.CandlestickSeries, {
      upColor: colors.up, downColor: colors.down, borderVisible: false,
      wickUpColor: colors.up, wickDownColor: colors.down
    });
    candles.setData(series.candles.map(function (c) {
      return { time: c[0], open: c[1], high: c[2], low: c[3], close: c[4] };
    }));
    var trades = data.trades.filter(function (t) { return t.symbol === series.symbol; });
    // Labels only where they fit; hovering the PnL chart describes every trade.
    var labelled = trades.length <= 60 && series.candles.length >= trades.length * 20;
    var markers = [];
    trades.forEach(function (t) {
      markers.push({
        time: candleTime(series.candles, t.entry_time),
        position: t.long ? 'belowBar' : 'aboveBar',
        color: t.long ? '#2e7d32' : '#c62828',
        shape: t.long ? 'arrowUp' : 'arrowDown',
        text: labelled ? (t.long ? 'buy ' : 'sell ') + t.qty : ''
      });
      markers.push({
        time: candleTime(series.candles, t.exit_time),
        position: t.long ? 'aboveBar' : 'belowBar',
        color: '#555555',
        shape: 'circle',
        text: labelled ? 'exit ' + format(t.pnl, 2) : ''
      });
    });
    markers.sort(function (a, b) { return a.time - b.time; });
    LC.createSeriesMarkers(candles, markers);
    legend('legend-price-' + at, chart, function (param) {
      var c = param.seriesData.get(candles);
      return c ? series.symbol + '  ' + timeText(param.time) + '  O ' + c.open + '  H ' + c.high +
        '  L ' + c.low + '  C ' + c.close : '';
    });
    chart.timeScale().fitContent();
    timeCharts.push(chart);
    checks.push({ name: 'price ' + series.symbol, id: 'chart-price-' + at, color: colors.up, alt: colors.down });
  }

  function lineChart(id, curves, extra, percentDigits) {
    var chart = makeChart(id, { rightPriceScale: { borderColor: '#cccccc' } });
    var drawn = [];
    curves.forEach(function (curve, at) {
      var color = at === 0 ? colors.total : palette[(at - 1) % palette.length];
      var s = chart.addSeries(LC.LineSeries, {
        color: color, lineWidth: at === 0 ? 3 : 2, title: curve.name,
        priceFormat: { type: 'price', precision: percentDigits, minMove: Math.pow(10, -percentDigits) }
      });
      s.setData(line(curve.points));
      drawn.push({ name: curve.name, series: s });
    });
    (extra || []).forEach(function (e) {
      var s = chart.addSeries(LC.LineSeries, { color: colors.buyHold, lineWidth: 2, lineStyle: LC.LineStyle.Dashed, title: e.name });
      s.setData(e.points);
      drawn.push({ name: e.name, series: s });
    });
    chart.timeScale().fitContent();
    timeCharts.push(chart);
    return { chart: chart, drawn: drawn };
  }

  function describeLines(drawn, unit) {
    return function (param) {
      var parts = [timeText(param.time)];
      drawn.forEach(function (d) {
        var point = param.seriesData.get(d.series);
        if (point) { parts.push(d.name + ' ' + format(point.value, 3) + unit); }
      });
      return parts.join('  ');
    };
  }

  function equityChart() {
    var extra = [];
    var first = data.prices[0];
    if (first && first.first_close > 0) {
      extra.push({
        name: 'buy & hold ' + first.symbol,
        points: first.candles.map(function (c) { return { time: c[0], value: (c[4] / first.first_close - 1) * 100 }; })
      });
    }
    var made = lineChart('chart-equity', data.equity, extra, 2);
    legend('legend-equity', made.chart, describeLines(made.drawn, '%'));
    checks.push({ name: 'equity', id: 'chart-equity', color: colors.total });
  }

  function drawdownChart() {
    var chart = makeChart('chart-drawdown');
    var drawn = [];
    data.drawdown.forEach(function (curve, at) {
      var s = at === 0
        ? chart.addSeries(LC.AreaSeries, {
          lineColor: colors.drawdown, topColor: 'rgba(214, 39, 40, 0.05)', bottomColor: 'rgba(214, 39, 40, 0.35)',
          lineWidth: 2, title: curve.name, invertFilledArea: true
        })
        : chart.addSeries(LC.LineSeries, { color: palette[(at - 1) % palette.length], lineWidth: 1, title: curve.name });
      s.setData(line(curve.points));
      drawn.push({ name: curve.name, series: s });
    });
    chart.timeScale().fitContent();
    timeCharts.push(chart);
    legend('legend-drawdown', chart, describeLines(drawn, '%'));
    checks.push({ name: 'drawdown', id: 'chart-drawdown', color: colors.drawdown });
  }

  // One bar per round trip; the axis counts trades (trade n sits at "time" n).
  function tradesChart() {
    if (!document.getElementById('chart-trades')) { return; }
    var chart = makeChart('chart-trades', {
      timeScale: { minBarSpacing: 0.001, tickMarkFormatter: function (n) { return '#' + n; } },
      localization: { timeFormatter: function (n) { return 'trade #' + n; } }
    });
    var bars = chart.addSeries(LC.HistogramSeries, { title: 'net PnL' });
    bars.setData(data.trades.map(function (t, at) {
      return { time: at + 1, value: t.pnl, color: t.pnl >= 0 ? colors.up : colors.down };
    }));
    chart.timeScale().fitContent();
    legend('legend-trades', chart, function (param) {
      var t = data.trades[param.time - 1];
      return t ? 'trade #' + param.time + '  ' + t.strategy + ' ' + (t.long ? 'long ' : 'short ') + t.qty + ' ' +
        t.symbol + '  ' + timeText(t.entry_time) + ' @ ' + t.entry_price + ' -> ' + timeText(t.exit_time) + ' @ ' +
        t.exit_price + '  net ' + format(t.pnl, 2) + ' (' + format(t.return_pct, 3) + '%)' : '';
    });
    checks.push({ name: 'trades', id: 'chart-trades', color: colors.up, alt: colors.down });
  }

  // Counts the pixels drawn in a chart's series colours, so a test (or a reader of the DOM) can
  // tell a drawn chart from an empty frame.
  function drawnPixels(check) {
    var wanted = [check.color, check.alt].filter(Boolean).map(function (hex) {
      return [1, 3, 5].map(function (i) { return parseInt(hex.slice(i, i + 2), 16); });
    });
    var count = 0;
    document.getElementById(check.id).querySelectorAll('canvas').forEach(function (canvas) {
      if (!canvas.width || !canvas.height) { return; }
      var pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (var i = 0; i < pixels.length; i += 4) {
        if (pixels[i + 3] < 200) { continue; }
        for (var w = 0; w < wanted.length; w++) {
          var c = wanted[w];
          if (Math.abs(pixels[i] - c[0]) < 8 && Math.abs(pixels[i + 1] - c[1]) < 8 && Math.abs(pixels[i + 2] - c[2]) < 8) {
            count++;
            break;
          }
        }
      }
    });
    return count;
  }

  data.prices.forEach(priceChart);
  equityChart();
  drawdownChart();
  tradesChart();
  syncTimeRanges();
  setTimeout(function () {
    var drawn = {};
    checks.forEach(function (check) { drawn[check.name] = drawnPixels(check); });
    document.body.dataset.drawn = JSON.stringify(drawn);
    if (document.body.dataset.status !== 'error') { document.body.dataset.status = 'drawn'; }
  }, 500);
}());
