// bpverify's page: the form, the derivation, the claim with its live preview and verdict, and
// the page's state in its address. Plain JavaScript; every request goes to this server only.
"use strict";

const tables = JSON.parse(document.getElementById("tables").textContent);
const $ = (id) => document.getElementById(id);
const PREVIEW_DELAY = 300; // ms after the last keystroke
let derived = null; // the last derive answer: its LaTeX block and document
let previewTimer = 0;
let previewTurn = 0;

class ApiError extends Error {
  constructor(body, status) {
    super(body.message || `the server answered ${status}`);
    this.field = body.field;
    this.status = status;
  }
}

async function api(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError({ message: "the server cannot be reached: is bpverify serve running?" }, 0);
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(data, response.status);
  return data;
}

function element(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (className) e.className = className;
  return e;
}

// MathML from this server (the library's LaTeX, converted there): shown as markup.
function math(markup) {
  const div = element("div", null, "equation");
  div.innerHTML = markup;
  return div;
}

function fill(select, names, value) {
  select.replaceChildren(...names.map((n) => new Option(n, n, false, n === value)));
}

function layerCount() {
  const L = parseInt($("layers").value, 10);
  return Number.isFinite(L) && L >= 1 ? Math.min(L, 12) : 1;
}

function activationSelects(values) {
  const fieldset = $("activations");
  const L = layerCount();
  const old = [...fieldset.querySelectorAll("select")].map((s) => s.value);
  fieldset.querySelectorAll(".field").forEach((f) => f.remove());
  for (let l = 1; l <= L; l++) {
    const field = element("div", null, "field");
    const label = element("label", `layer ${l}${l === L ? " (output)" : ""}`);
    const select = element("select");
    select.id = `activation-${l}`;
    label.htmlFor = select.id;
    const value = (values && values[l - 1]) || old[l - 1] || old[old.length - 1] || tables.defaults.activation;
    fill(select, tables.activations, value);
    field.append(label, select);
    fieldset.append(field);
  }
}

function network() {
  const activations = [...$("activations").querySelectorAll("select")].map((s) => s.value);
  const net = {
    layers: layerCount(),
    activations: activations.every((a) => a === activations[0]) ? activations[0] : activations,
    loss: $("loss").value,
    cost: $("cost").value,
    l2: $("l2").value.trim() || "0",
    leaky_slope: $("leaky_slope").value.trim() || tables.defaults.leaky_slope,
  };
  const widths = $("widths").value.trim();
  if (widths) net.widths = widths;
  return net;
}

function claimBody() {
  const body = { network: network(), claim: $("claim").value };
  const wrt = $("wrt").value.trim();
  if (wrt) body.wrt = wrt;
  return body;
}

// -- the derivation ---------------------------------------------------------------------------
async function derive() {
  const status = $("derive-status");
  status.className = "status-line";
  status.textContent = "deriving…";
  $("derive").disabled = true;
  try {
    derived = await api("/api/derive", { network: network() });
    const out = $("derivation");
    out.replaceChildren();
    for (const section of derived.sections) {
      out.append(element(section.rows.length ? "h3" : "p", section.heading));
      for (const row of section.rows) out.append(math(row.mathml));
    }
    status.textContent = derived.verification ? derived.verification.summary : "derived";
    $("copy-latex").disabled = $("download-tex").disabled = false;
  } catch (e) {
    status.className = "status-line error";
    status.textContent = e.message;
  } finally {
    $("derive").disabled = false;
  }
}

function save(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = element("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function copy(text, status) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {
    const area = element("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  status.textContent = "copied";
}

async function downloadPython() {
  const status = $("derive-status");
  try {
    const module = await api("/api/generate", { network: network() });
    save(module.filename, module.source, "text/x-python");
    status.textContent = `saved ${module.filename}`;
  } catch (e) {
    status.className = "status-line error";
    status.textContent = e.message;
  }
}

// -- the claim ----------------------------------------------------------------------------------
function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(preview, PREVIEW_DELAY);
}

async function preview() {
  const out = $("preview");
  const turn = ++previewTurn;
  if (!$("claim").value.trim()) {
    out.replaceChildren();
    return;
  }
  try {
    const seen = await api("/api/preview", claimBody());
    if (turn !== previewTurn) return; // a later keystroke's preview is on its way
    out.className = "preview";
    out.replaceChildren(math(seen.mathml));
  } catch (e) {
    if (turn !== previewTurn) return;
    out.className = "preview error";
    out.textContent = e.message;
  }
}

function row(table, name, value) {
  const tr = element("tr");
  tr.append(element("th", name), element("td", value));
  table.append(tr);
}

function showVerdict(v) {
  const card = $("verdict");
  card.className = `verdict ${v.status}`;
  const parts = [element("p", v.status, "status"), element("p", v.message, "message")];
  if (v.hint) parts.push(element("p", `hint: ${v.hint}`, "hint"));
  if (v.truth) parts.push(element("p", `derived: d${v.of}/d${v.wrt} = ${v.truth}`, "truth"));
  if (v.counterexample) {
    parts.push(element("p", `counterexample: the claim is ${v.claim_value}, the derivative ${v.truth_value}, at`));
    const table = element("table", null, "counterexample");
    for (const [name, value] of Object.entries(v.counterexample)) row(table, name, value);
    parts.push(table);
  }
  for (const note of v.notes || []) parts.push(element("p", `note: ${note}`, "note"));
  card.replaceChildren(...parts);
}

async function prove() {
  const card = $("verdict");
  $("prove").disabled = true;
  card.className = "verdict";
  card.replaceChildren(element("p", "proving…", "pending"));
  try {
    showVerdict(await api("/api/prove", claimBody()));
  } catch (e) {
    card.className = "verdict error";
    card.replaceChildren(element("p", e.field ? `${e.field}: ${e.message}` : e.message));
  } finally {
    $("prove").disabled = false;
  }
}

// -- the page's state in its address ----------------------------------------------------------
const STATE = ["layers", "widths", "loss", "cost", "l2", "leaky_slope", "wrt", "claim"];

function saveState() {
  const params = new URLSearchParams();
  for (const id of STATE) params.set(id, $(id).value);
  params.set("activations", [...$("activations").querySelectorAll("select")].map((s) => s.value).join(","));
  history.replaceState(null, "", `#${params}`);
}

function restoreState() {
  const params = new URLSearchParams(location.hash.slice(1));
  const d = tables.defaults;
  const value = (id, fallback) => (params.has(id) ? params.get(id) : fallback);
  $("layers").value = value("layers", "3");
  $("widths").value = value("widths", "");
  fill($("loss"), tables.losses, value("loss", d.loss));
  fill($("cost"), tables.costs, value("cost", d.cost));
  $("l2").value = value("l2", d.l2);
  $("leaky_slope").value = value("leaky_slope", d.leaky_slope);
  $("wrt").value = value("wrt", d.wrt);
  $("claim").value = value("claim", d.claim);
  activationSelects(params.has("activations") ? params.get("activations").split(",") : null);
}

// -- wiring -------------------------------------------------------------------------------------
restoreState();
$("layers").addEventListener("change", () => { activationSelects(); saveState(); });
$("network-form").addEventListener("input", saveState);
$("network-form").addEventListener("change", saveState);
$("network-form").addEventListener("submit", (e) => { e.preventDefault(); derive(); });
$("claim-form").addEventListener("input", () => { saveState(); schedulePreview(); });
$("claim-form").addEventListener("submit", (e) => { e.preventDefault(); prove(); });
$("claim").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); prove(); }
});
$("copy-latex").addEventListener("click", () => copy(derived.latex, $("derive-status")));
$("download-tex").addEventListener("click", () => save("gradients.tex", derived.document, "application/x-tex"));
$("download-py").addEventListener("click", downloadPython);
$("share").addEventListener("click", () => { saveState(); copy(location.href, $("share-status")); });
saveState();
derive();
preview();
