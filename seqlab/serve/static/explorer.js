// The attention explorer: POST /v1/attention, then the chosen layer and head (or their average) as a heatmap and as
// bertviz-style lines. The response's weights are (layers, heads, rows, columns); each row attends over the columns.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
let models = []; // the served models that have attention to show
let view = null; // the last /v1/attention response

function headers() {
  const result = { "Content-Type": "application/json" };
  const token = $("token").value;
  if (token) result.Authorization = `Bearer ${token}`;
  return result;
}

async function api(path, body) {
  const init = body === undefined ? { headers: headers() } : { method: "POST", headers: headers(), body: JSON.stringify(body) };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function setStatus(message) {
  $("status").textContent = message;
}

// a token as it reads: whitespace made visible
function shown(token) {
  if (token === "\n") return "⏎";
  return token.trim() === "" ? "␣".repeat(Math.max(1, token.length)) : token.replace(/\n/g, "⏎");
}

async function loadModels() {
  try {
    const data = await api("/v1/models");
    models = data.models.filter((m) => m.capabilities.includes("attention"));
    $("model").replaceChildren(...models.map((m) => new Option(`${m.name} (${m.family})`, m.name)));
    showError(models.length ? "" : "none of the served models has attention to show");
    modelChanged();
    setStatus(models.length ? "ready" : "");
  } catch (err) {
    showError(err.message);
    if (/token/.test(err.message)) $("auth").open = true;
  }
}

function modelChanged() {
  const model = models.find((m) => m.name === $("model").value);
  const memnet = Boolean(model && model.family === "memnet");
  $("story-label").hidden = !memnet;
  $("text").placeholder = memnet ? "A question about the story" : "Type a sentence";
}

async function show(event) {
  event.preventDefault();
  const body = { model: $("model").value, text: $("text").value };
  if (!$("story-label").hidden) body.story = $("story").value.split("\n").filter((line) => line.trim());
  setStatus("reading…");
  showError("");
  try {
    view = await api("/v1/attention", body);
  } catch (err) {
    setStatus("");
    showError(err.message);
    return;
  }
  $("description").textContent = `${view.model} (${view.family}): ${view.description}.`;
  $("output").textContent = view.output === null ? "" : `Output: ${view.output || "(nothing)"}`;
  fillPickers();
  $("result").hidden = false;
  render();
  setStatus("shown");
}

function fillPickers() {
  const layers = view.layers.map((name, i) => new Option(name, String(i)));
  if (view.layers.length > 1) layers.push(new Option("average of the layers", "avg"));
  $("layer").replaceChildren(...layers);
  const heads = [];
  if (view.heads > 1) heads.push(new Option("average of the heads", "avg"));
  for (let h = 0; h < view.heads; h++) heads.push(new Option(`head ${h + 1}`, String(h)));
  $("head").replaceChildren(...heads);
}

// the picked rows x columns: one layer or the mean over layers, one head or the mean over heads
function picked() {
  const layers = $("layer").value === "avg" ? view.weights : [view.weights[Number($("layer").value)]];
  const maps = layers.flatMap((heads) => ($("head").value === "avg" ? heads : [heads[Number($("head").value)]]));
  return view.rows.map((_, r) => view.columns.map((_, c) => maps.reduce((sum, m) => sum + m[r][c], 0) / maps.length));
}

function render() {
  const weights = picked();
  renderHeatmap(weights);
  renderLines(weights);
}

function renderHeatmap(weights) {
  const table = $("heatmap");
  const head = document.createElement("thead");
  const top = head.insertRow();
  top.appendChild(document.createElement("th"));
  for (const column of view.columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = shown(column);
    top.appendChild(th);
  }
  const body = document.createElement("tbody");
  weights.forEach((row, r) => {
    const tr = body.insertRow();
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = shown(view.rows[r]);
    tr.appendChild(th);
    row.forEach((value, c) => {
      const td = tr.insertCell();
      td.dataset.row = r;
      td.dataset.col = c;
      td.dataset.value = value.toFixed(4);
      td.style.background = `rgba(33, 102, 172, ${value.toFixed(4)})`;
      td.className = value > 0.5 ? "light" : "";
      td.textContent = value >= 0.005 ? value.toFixed(2).replace(/^0/, "") : "";
      td.title = `${shown(view.rows[r])} → ${shown(view.columns[c])}: ${value.toFixed(4)}`;
    });
  });
  table.replaceChildren(head, body);
}

function renderLines(weights) {
  const svg = $("lines");
  const step = 22;
  const left = 260; // the rows' tokens end here: room for 34 characters
  const right = 420; // the columns' tokens start here
  const width = 700;
  const height = step * (Math.max(view.rows.length, view.columns.length) + 1);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const items = [];
  const text = (label, x, y, anchor, side, index) => {
    const t = document.createElementNS(SVG, "text");
    t.setAttribute("x", x);
    t.setAttribute("y", y + 4);
    t.setAttribute("text-anchor", anchor);
    t.dataset.side = side;
    t.dataset.index = index;
    const name = shown(label);
    t.textContent = name.length > 34 ? `${name.slice(0, 33)}…` : name;
    return t;
  };
  view.rows.forEach((label, r) => items.push(text(label, left - 8, step * (r + 1), "end", "row", r)));
  view.columns.forEach((label, c) => items.push(text(label, right + 8, step * (c + 1), "start", "col", c)));
  weights.forEach((row, r) =>
    row.forEach((value, c) => {
      if (value < 0.01) return; // invisible anyway
      const line = document.createElementNS(SVG, "line");
      line.setAttribute("x1", left);
      line.setAttribute("y1", step * (r + 1));
      line.setAttribute("x2", right);
      line.setAttribute("y2", step * (c + 1));
      line.setAttribute("stroke-width", 2);
      line.setAttribute("stroke-opacity", value.toFixed(4));
      line.dataset.row = r;
      line.dataset.col = c;
      line.dataset.value = value.toFixed(4);
      items.push(line);
    }),
  );
  svg.replaceChildren(...items);
}

// pointing at a token keeps only its lines
function highlight(event) {
  const target = event.target.closest("text");
  const lines = $("lines").querySelectorAll("line");
  $("lines").querySelectorAll("text").forEach((t) => t.classList.toggle("picked", t === target));
  lines.forEach((line) => {
    const mine = target && line.dataset[target.dataset.side] === target.dataset.index;
    line.classList.toggle("dim", Boolean(target) && !mine);
  });
}

$("query").addEventListener("submit", show);
$("model").addEventListener("change", modelChanged);
$("layer").addEventListener("change", render);
$("head").addEventListener("change", render);
$("token").addEventListener("change", loadModels);
$("lines").addEventListener("mouseover", highlight);
$("lines").addEventListener("mouseleave", highlight);
loadModels();
