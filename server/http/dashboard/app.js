// quantd dashboard: hash-routed views over the read-only JSON API (/api/...). The job list and a
// job's events refresh themselves; tables sort by any column; charts use Chart.js, which quantd
// serves from its own build (npm at build time, never a CDN).
"use strict";

const view = document.getElementById("view");
let timer = null;
let charts = [];
// The server's kind table (/api/kinds), fetched once: filter options and which jobs have a board.
let kindsLoaded = null;
const kinds = () => kindsLoaded ??= api("/api/kinds").then(b => b.kinds || []);

const tokenInput = document.getElementById("token");
tokenInput.value = localStorage.getItem("quantd_token") || "";
tokenInput.addEventListener("change", () => {
  localStorage.setItem("quantd_token", tokenInput.value);
  route();
});

async function api(path) {
  const headers = {};
  if (tokenInput.value) headers["Authorization"] = "Bearer " + tokenInput.value;
  const res = await fetch(path, {headers});
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((body.error && body.error.message) || res.statusText);
  return body;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "style") e.style.cssText = v;  // CSSOM: allowed by the page's CSP, unlike style=""
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return e;
}

const fmt = (v, digits = 4) => typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : (v ?? "");
const age = ms => {
  const s = Math.max(0, (Date.now() - Number(ms)) / 1000);
  return s < 90 ? `${s.toFixed(0)} s` : s < 5400 ? `${(s / 60).toFixed(0)} min` : `${(s / 3600).toFixed(1)} h`;
};
const stateBadge = s => el("span", {class: "state " + s}, s);

// A table whose rows sort by a click on any header; `columns` = [{title, get, num}].
function sortableTable(columns, rows, id) {
  let key = null, asc = true;
  const table = el("table", {id});
  const render = () => {
    const sorted = key === null ? rows : [...rows].sort((a, b) => {
      const x = columns[key].get(a), y = columns[key].get(b);
      const c = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
      return asc ? c : -c;
    });
    table.replaceChildren(
      el("thead", {}, el("tr", {}, columns.map((c, i) => el("th", {
        class: i === key ? (asc ? "sorted-asc" : "sorted-desc") : "",
        onclick: () => { asc = key === i ? !asc : true; key = i; render(); }}, c.title)))),
      el("tbody", {}, sorted.map(r => el("tr", {}, columns.map(c => {
        const v = c.get(r);
        return el("td", {class: c.num ? "num" : ""}, v instanceof Node ? v : fmt(v));
      })))));
  };
  render();
  return table;
}

function chart(canvas, config) {
  charts.push(new Chart(canvas, {...config, options: {animation: false, maintainAspectRatio: false, ...config.options}}));
}

// ---------------------------------------------------------------------------------------------
async function jobList(params) {
  const state = params.get("state") || "", kind = params.get("kind") || "";
  const q = new URLSearchParams({limit: "200"});
  if (state) q.set("state", state);
  if (kind) q.set("kind", kind);
  const [{jobs}, kindRows] = await Promise.all([api("/api/jobs?" + q), kinds()]);
  const select = (name, value, options) => el("select", {
    id: "filter-" + name,
    onchange: e => { params.set(name, e.target.value); location.hash = "#/?" + params; }},
    options.map(o => { const opt = el("option", {value: o}, o || "any " + name); if (o === value) opt.selected = true; return opt; }));
  view.replaceChildren(
    el("h2", {}, "Jobs"),
    el("div", {class: "filters"},
      select("state", state, ["", "queued", "running", "succeeded", "failed", "cancelled"]),
      select("kind", kind, ["", ...kindRows.map(k => k.name)])),
    sortableTable([
      {title: "job", get: j => el("a", {href: "#/job/" + j.id}, j.id)},
      {title: "kind", get: j => j.kind},
      {title: "state", get: j => stateBadge(j.state)},
      {title: "progress", get: j => {
        const p = j.progress || {}, f = p.total ? (p.step || 0) / p.total : (j.state === "succeeded" ? 1 : 0);
        return el("span", {}, el("span", {class: "bar"}, el("span", {style: `width:${(100 * f).toFixed(0)}%`})),
                  ` ${p.phase || ""} ${p.step || 0}/${p.total || 0}`);
      }},
      {title: "age", get: j => age(j.created_ms)},
      {title: "error", get: j => j.error || ""},
    ], jobs || [], "jobs"));
  timer = setTimeout(route, 2000);
}

function gatesTable(gates) {
  return sortableTable([
    {title: "gate", get: g => g.name},
    {title: "value", get: g => g.value, num: true},
    {title: "threshold", get: g => g.threshold, num: true},
    {title: "verdict", get: g => el("span", {class: g.passed ? "pass" : "fail"}, g.passed ? "pass" : "fail")},
  ], gates, "gates");
}

function reportCard(report) {
  const cards = [];
  const acc = report.accuracy || {};
  const rows = [];
  for (const k of ["top1_agreement", "topk_agreement", "output_mse", "kl_divergence"]) {
    if (acc[k]) rows.push([k, acc[k].value]);
  }
  if (acc.task_accuracy) rows.push(["accuracy float", acc.task_accuracy.float.value], ["accuracy int8", acc.task_accuracy.quantized.value]);
  // A regressor (one value per sample) is judged by correlation, against the labels when given.
  if (acc.task === "regression") {
    const fit = acc.vs_labels ? acc.vs_labels.quantized : acc.vs_float;
    for (const k of ["plcc", "srocc", "rmse", "mae"]) if (fit[k] != null) rows.push([k + " int8", fit[k]]);
    if (acc.vs_labels && acc.vs_labels.float.plcc != null) rows.push(["plcc float", acc.vs_labels.float.plcc]);
  }
  // Every further output of a multi-output model (e.g. a value head) gets its headline error.
  const outs = Object.entries(report.outputs || {});
  if (outs.length > 1) {
    for (const [name, o] of outs) {
      if (o.task === "regression") rows.push([name + " rmse vs float", o.vs_float.rmse]);
      else rows.push([name + " top-1 agreement", o.top1_agreement.value]);
    }
  }
  if (report.size) rows.push(["size float B", report.size.float_bytes], ["size int8 B", report.size.quantized_bytes]);
  const lat = report.latency && report.latency.batch1;
  if (lat) rows.push(["batch-1 median float ms", lat.float.median_ms], ["batch-1 median int8 ms", lat.quantized.median_ms]);
  if (rows.length) cards.push(el("div", {class: "card"}, el("h3", {}, "Report"),
    sortableTable([{title: "metric", get: r => r[0]}, {title: "value", get: r => r[1], num: true}], rows, "report")));
  const gates = report.gates || (report.details && report.details.gates) || [];
  if (gates.length) cards.push(el("div", {class: "card"}, el("h3", {}, "Gates"), gatesTable(gates)));
  const curve = report.training && report.training.curve;
  if (curve && curve.length) {
    const canvas = el("canvas", {id: "training-curve"});
    cards.push(el("div", {class: "card"}, el("h3", {}, "Training curve"), el("div", {class: "chart"}, canvas)));
    const val = Object.keys(curve[0]).find(k => k.startsWith("val_"));
    setTimeout(() => chart(canvas, {type: "line", data: {labels: curve.map(c => c.epoch), datasets: [
      {label: "train loss", data: curve.map(c => c.train_loss), yAxisID: "loss"},
      {label: val, data: curve.map(c => c[val]), yAxisID: "metric"}]},
      options: {scales: {loss: {position: "left"}, metric: {position: "right"}}}}));
  }
  return cards;
}

function leaderboardCard(board) {
  const metricNames = [...new Set(board.rows.flatMap(r => Object.keys(r.metrics || {})))];
  const crossover = board.kind === "crossover_search";
  const llm = board.kind === "weight_only_llm";
  const preferred = crossover ? ["objective", "agree_a", "agree_b", "kl_a", "kl_b", "size_bytes", "latency_p95_ms"]
                  : llm ? ["ppl_quantized", "ppl_rise", "size_bytes", "decode_tokens_per_s", "decode_speedup", "quantize_seconds"]
                  : ["accuracy", "top1_agreement", "size_bytes", "latency_p95_ms", "accuracy_drop", "accuracy_drop_relative"];
  const shown = preferred.filter(m => metricNames.includes(m));
  const table = sortableTable([
    {title: "rank", get: r => r.rank || "-", num: true},
    {title: crossover ? "child" : "candidate", get: r => r.candidate},
    {title: "regime", get: r => r.regime},
    {title: "status", get: r => r.status},
    ...shown.map(m => ({title: m, get: r => (r.metrics || {})[m] ?? "", num: true})),
    {title: "gates", get: r => (r.gates || []).map(g => `${g.name}:${g.passed ? "ok" : "FAIL"}`).join(" ")},
  ], board.rows, "leaderboard");
  const y = crossover ? "objective" : llm ? "ppl_quantized"
          : (metricNames.includes("accuracy") ? "accuracy" : "top1_agreement");
  const done = board.rows.filter(r => r.metrics && r.metrics[y] !== undefined && r.metrics.size_bytes !== undefined);
  const scatter = (id, x, label) => {
    const canvas = el("canvas", {id});
    setTimeout(() => chart(canvas, {type: "scatter",
      data: {datasets: [{label: `${y} vs ${label}`, data: done.map(r => ({x: r.metrics[x], y: r.metrics[y], label: r.candidate}))}]},
      options: {plugins: {tooltip: {callbacks: {label: c => `${c.raw.label}: ${fmt(c.raw.y)}`}}},
                scales: {x: {title: {display: true, text: label}}, y: {title: {display: true, text: y}}}}}));
    return el("div", {class: "chart"}, canvas);
  };
  return el("div", {class: "card"}, el("h3", {}, crossover ? "Leaderboard" : "Comparison"),
            el("p", {id: "decision"}, board.decision || ""), table,
            el("h3", {}, (llm ? "Size and decode speed vs " : "Size and latency vs ") + y),
            el("div", {class: "grid"},
               scatter("scatter", "size_bytes", llm ? "model.safetensors bytes" : "int8/fp32 archive bytes"),
               llm ? scatter("scatter-latency", "decode_tokens_per_s", "decode tokens/s (batch 1)")
                   : scatter("scatter-latency", "latency_p95_ms", "batch-1 p95 ms")));
}

async function jobDetail(id) {
  const {job} = await api("/api/jobs/" + encodeURIComponent(id));
  const eventsBox = el("div", {class: "events", id: "events"});
  const outputs = sortableTable([
    {title: "output", get: o => el("a", {href: `/api/artifacts/${o.sha256}?name=${encodeURIComponent(o.name)}`}, o.name)},
    {title: "bytes", get: o => Number(o.size), num: true},
    {title: "sha256", get: o => o.sha256.slice(0, 16) + "…"},
  ], job.outputs || [], "outputs");
  view.replaceChildren(
    el("h2", {}, job.id, " ", stateBadge(job.state)),
    el("p", {}, `${job.kind} · attempts ${job.attempts || 0} · ${age(job.created_ms)} ago`,
       job.error ? el("div", {class: "error", id: "job-error"}, job.error) : ""),
    el("div", {class: "grid", id: "cards"}),
    el("h3", {}, "Artifacts"), outputs,
    el("h3", {}, "Events"), eventsBox,
    el("h3", {}, "Spec"), el("pre", {id: "spec"}, JSON.stringify(job.spec, null, 2)));
  const cards = document.getElementById("cards");
  const report = (job.outputs || []).find(o => o.name === "report");
  if (report) {
    try { cards.append(...reportCard(await api(`/api/artifacts/${report.sha256}`))); } catch (e) { /* not JSON */ }
  }
  if ((await kinds()).some(k => k.name === job.kind && k.leaderboard)) {
    cards.append(leaderboardCard((await api(`/api/jobs/${id}/leaderboard`)).leaderboard));
  }
  // While the job runs, only new events are fetched; the page is rebuilt once, when it ends.
  let after = 0;
  const live = state => ["queued", "running"].includes(state);
  const poll = async () => {
    const {events} = await api(`/api/jobs/${id}/events?after=${after}`);
    for (const e of events || []) {
      after = Number(e.seq);
      eventsBox.append(el("div", {}, `[${e.seq}] ${e.type} ${e.state} ${(e.progress && e.progress.phase) || ""} ${e.message || ""}`));
    }
    eventsBox.scrollTop = eventsBox.scrollHeight;
    if (!live(job.state)) return;
    const now = (await api("/api/jobs/" + encodeURIComponent(id))).job;
    timer = setTimeout(live(now.state) ? poll : route, live(now.state) ? 2000 : 0);
  };
  await poll();
}

async function route() {
  clearTimeout(timer);
  charts.forEach(c => c.destroy());
  charts = [];
  const hash = location.hash.slice(1) || "/";
  try {
    const [path, query] = hash.split("?");
    if (path.startsWith("/job/")) await jobDetail(decodeURIComponent(path.slice(5)));
    else await jobList(new URLSearchParams(query || ""));
    document.body.dataset.ready = "true";
  } catch (e) {
    view.replaceChildren(el("p", {class: "error", id: "load-error"}, "quantd: " + e.message));
    document.body.dataset.ready = "true";
  }
}

api("/api/health").then(h => { document.getElementById("health").textContent = `v${h.version} · ${h.workers_connected} worker(s) · ${h.queue_depth} queued`; }).catch(() => {});
window.addEventListener("hashchange", route);
route();
