// xiotlab's live plot, the browser side (an anywidget module; uPlot is prepended to it in Python).
//
// The kernel sends, as custom messages with float64 buffers, either the whole window ("window":
// after a page reload, or when a view asks) or only the values new since its last redraw ("delta").
// Each view (the same plot displayed twice makes two) keeps the window, trimmed to the plot's time
// span and point count, and asks the kernel for the whole window when it appears: after a page
// reload, a re-run cell, a second display. (anywidget gives initialize and render different model
// objects, so a window shared per model could not be found again.) NaN values are gaps.

function store() {
  return { series: new Map(), now: 0, messages: 0, bytes: 0 };
}

function floats(view) {
  // A DataView (or ArrayBuffer) from the comm, copied: its offset need not be a multiple of 8.
  if (view instanceof ArrayBuffer) return new Float64Array(view.slice(0));
  return new Float64Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

function receive(model, s, msg, buffers) {
  if (!msg || (msg.kind !== "window" && msg.kind !== "delta")) return false;
  s.messages += 1;
  if (msg.kind === "window") s.series = new Map();
  s.now = Math.max(s.now, msg.now || 0);
  msg.series.forEach((name, i) => {
    const t = floats(buffers[2 * i]);
    const y = floats(buffers[2 * i + 1]);
    s.bytes += t.byteLength + y.byteLength;
    let line = s.series.get(name);
    if (!line) s.series.set(name, (line = { t: [], y: [] }));
    for (let k = 0; k < t.length; k++) {
      line.t.push(t[k]);
      line.y.push(Number.isNaN(y[k]) ? null : y[k]);
    }
  });
  trim(model, s);
  return true;
}

// The same rule as tests/faces/test_live_plot.py's Browser.receive (keep the two in step): drop the
// oldest beyond max_points, then, in a time window, those older than the kernel's send time - window.
function trim(model, s) {
  const seconds = model.get("window_seconds");
  const most = model.get("max_points");
  for (const line of s.series.values()) {
    let drop = Math.max(0, line.t.length - most);
    if (seconds) {
      const since = s.now - seconds;
      while (drop < line.t.length && line.t[drop] < since) drop++;
    }
    if (drop > 0) {
      line.t.splice(0, drop);
      line.y.splice(0, drop);
    }
  }
}

function newest(s) {
  let time = 0;
  for (const line of s.series.values()) if (line.t.length) time = Math.max(time, line.t[line.t.length - 1]);
  return time;
}

function oldest(s) {
  let time = null;
  for (const line of s.series.values()) if (line.t.length) time = time === null ? line.t[0] : Math.min(time, line.t[0]);
  return time;
}

function aligned(lines, s) {
  // uPlot wants one x array; values of different fields rarely share stamps: join them.
  const tables = lines.map((l) => {
    const line = s.series.get(l.name) || { t: [], y: [] };
    return [line.t, line.y];
  });
  if (tables.length === 0) return [[]];
  if (tables.length === 1) return tables[0];
  return uPlot.join(tables, tables.map(() => [0, 1])); // explicit nulls stay gaps
}

function options(model, s, width) {
  const lines = model.get("lines");
  const units = [...new Set(lines.map((l) => l.unit || ""))];
  const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
  const axes = [{ label: "local time", labelSize: 16, size: 56 }]; // room for the date line under the times
  units.slice(0, 2).forEach((unit, i) =>
    axes.push({ scale: unit || "value", label: unit || "", side: i === 0 ? 3 : 1, grid: { show: i === 0 }, size: 60 }),
  );
  const series = [{ label: "time" }];
  lines.forEach((l, i) => {
    const unit = units.indexOf(l.unit || "") < 2 ? l.unit || "" : units[0];
    series.push({
      label: l.unit ? `${l.name} (${l.unit})` : l.name,
      scale: unit || "value",
      stroke: palette[i % palette.length],
      width: 1.5,
      spanGaps: false,
      points: { show: false },
    });
  });
  return {
    width: width,
    height: model.get("height"),
    scales: {
      x: {
        time: true,
        // A time window slides: the axis spans the window up to the kernel's send time, even before it
        // fills and with one distinct time (uPlot would widen that to a day before this range is asked).
        // A point window spans its values; one distinct time gets a minute around it, not uPlot's day.
        range: (u, min, max) => {
          const seconds = model.get("window_seconds");
          const end = Math.max(s.now, newest(s)); // a device clock ahead of the kernel's stays in view
          if (seconds && end) return [end - seconds, end];
          const first = oldest(s);
          if (first === null) return [min, max];
          return newest(s) > first ? [first, newest(s)] : [first - 30, first + 30];
        },
      },
    },
    axes: axes,
    series: series,
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
  };
}

function render({ model, el }) {
  const s = store();
  el.classList.add("xiotlab-live-plot");
  const title = document.createElement("div");
  title.className = "xiotlab-live-plot-title";
  title.style.cssText = "font-weight:600;margin:2px 0 4px 60px;font-family:sans-serif;font-size:13px";
  const holder = document.createElement("div");
  el.append(title, holder);
  let chart = null;
  let frame = null; // the pending animation frame's id
  let destroyed = false; // the view is gone: no frame may draw, nothing may build a chart
  let frames = 0;
  const schedule = () => {
    if (frame !== null || destroyed) return;
    frame = requestAnimationFrame(draw); // many messages between two frames: one drawing
  };
  let windows = 0; // whole windows received: until one comes, ask again (a hello sent while a
  // reloaded page's kernel connection settles can be lost)
  const onMessage = (msg, buffers) => {
    if (msg && msg.kind === "window") windows += 1;
    if (receive(model, s, msg, buffers)) schedule();
  };
  // Asked until a window comes, however long a reconnect takes (a paused plot sends nothing else),
  // each time a little later: 1 s, 1.5 s, ... at most 10 s apart.
  let wait = 1000;
  const hello = () => {
    if (windows > 0 || destroyed) return;
    model.send({ kind: "hello" });
    retry = setTimeout(hello, wait);
    wait = Math.min(10000, wait * 1.5);
  };
  let retry = null;

  function width() {
    return Math.max(300, Math.floor(el.clientWidth || holder.clientWidth || 640));
  }

  function rebuild() {
    if (destroyed) return;
    if (chart) chart.destroy();
    title.textContent = model.get("title") || "";
    title.style.display = title.textContent ? "" : "none";
    const opts = options(model, s, width());
    // Read by the browser tests: the time span the x axis shows.
    const span = (u, key) =>
      key === "x" && Object.assign(el.dataset, { xmin: u.scales.x.min, xmax: u.scales.x.max });
    opts.hooks = { setScale: [span] };
    chart = new uPlot(opts, aligned(model.get("lines"), s), holder);
    el.dataset.axes = JSON.stringify(opts.axes.map((a) => a.label)); // drawn on the canvas: told here
  }

  function draw() {
    frame = null;
    if (destroyed) return;
    if (!chart || chart.series.length !== model.get("lines").length + 1) rebuild();
    else chart.setData(aligned(model.get("lines"), s));
    frames += 1;
    let points = 0;
    for (const line of s.series.values()) points += line.t.length;
    // Read by the browser tests and the benchmark: what this view has drawn.
    el.dataset.frames = String(frames);
    el.dataset.points = String(points);
    el.dataset.newest = String(newest(s)); // the newest time drawn: it moves on even when the window is full
    el.dataset.windows = String(windows);
    el.dataset.messages = String(s.messages);
    el.dataset.bytes = String(s.bytes);
  }

  const relayout = () => {
    rebuild();
    schedule();
  };
  model.on("change:lines", relayout);
  model.on("change:title", relayout);
  model.on("change:height", relayout);
  const resize = new ResizeObserver(() => chart && chart.setSize({ width: width(), height: model.get("height") }));
  resize.observe(el);
  model.on("msg:custom", onMessage);
  rebuild();
  schedule();
  hello(); // the kernel holds the window: one message brings it
  return () => {
    destroyed = true;
    if (frame !== null) cancelAnimationFrame(frame);
    clearTimeout(retry);
    model.off("msg:custom", onMessage);
    resize.disconnect();
    model.off("change:lines", relayout);
    model.off("change:title", relayout);
    model.off("change:height", relayout);
    if (chart) chart.destroy();
    chart = null;
  };
}

export default { render };
