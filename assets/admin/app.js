// teller's admin console: a small single-page app over /admin/api. No framework, no inline
// script (the CSP forbids it), and every text from the server goes in as text, never as HTML.
"use strict";

const state = { me: null, csrf: null, flash: null, file: null };
const view = () => document.getElementById("view");

// el("button", { class: "primary", onclick: f }, "Save") builds an element safely.
function el(tag, attrs, ...children) {
  const node = document.createElementNS(tag === "svg" || attrs?.svg ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "svg" || value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function notice(message, isError) {
  const box = document.getElementById("notice");
  box.textContent = message;
  box.className = isError ? "error" : "";
  box.hidden = !message;
}

function can(capability) {
  return !!state.me && state.me.capabilities.includes(capability);
}

// Calls the API; throws { status, body } on failure. A 401 returns to the login page.
async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const response = await fetch("/admin/api" + path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401 && path !== "/login") {
    // Logged out elsewhere, disabled or reset by an owner, or simply expired.
    if (state.me) state.flash = "Your session has ended: sign in again.";
    state.me = null;
    clearInterval(state.heartbeat);
    location.hash = "#/login";
  }
  if (!response.ok) throw { status: response.status, body: data };
  return data;
}

function failure(error) {
  const text = error && error.body && error.body.error ? error.body.error : String(error && error.status || error);
  notice(text.charAt(0).toUpperCase() + text.slice(1), true);
}

function confirmDialog(text) {
  return new Promise((resolve) => {
    const dialog = document.getElementById("dialog");
    document.getElementById("dialog-text").textContent = text;
    dialog.hidden = false;
    const done = (answer) => {
      dialog.hidden = true;
      document.getElementById("dialog-ok").onclick = null;
      document.getElementById("dialog-cancel").onclick = null;
      resolve(answer);
    };
    document.getElementById("dialog-ok").onclick = () => done(true);
    document.getElementById("dialog-cancel").onclick = () => done(false);
  });
}

// A time in the bank's zone (BANK_TIMEZONE), named, whatever zone this computer is in.
function when(iso) {
  if (!iso) return "";
  const zone = state.me && state.me.timezone;
  if (!zone) return new Date(iso).toLocaleString();
  const shown = new Intl.DateTimeFormat("en-GB", { timeZone: zone, day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short" }).format(new Date(iso));
  return `${shown} (${zone})`;
}

// ---- login ------------------------------------------------------------------------------

function showLogin() {
  clearInterval(state.heartbeat);
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("who").textContent = "";
  const error = el("p", { id: "login-error", class: "error-text" });
  const form = el("form", { class: "card login", id: "login-form" },
    el("h1", { text: "Sign in" }),
    el("label", { for: "email", text: "Email" }), el("input", { id: "email", type: "email", autocomplete: "username", required: true }),
    el("label", { for: "password", text: "Password" }), el("input", { id: "password", type: "password", autocomplete: "current-password", required: true }),
    el("label", { for: "code", text: "Code from your authenticator app" }),
    el("input", { id: "code", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", required: true }),
    el("p", {}, el("button", { id: "login", class: "primary", type: "submit", text: "Sign in" })),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const answer = await api("POST", "/login", {
        email: document.getElementById("email").value,
        password: document.getElementById("password").value,
        code: document.getElementById("code").value,
      });
      state.csrf = answer.csrf_token;
      state.me = answer.admin;
      location.hash = "#/flows";
    } catch (e) {
      error.textContent = e.status === 401 ? "The email, password or code is wrong." : (e.body && e.body.error) || "Sign-in failed.";
    }
  });
  view().replaceChildren(form);
}

async function logout() {
  try { await api("POST", "/logout", {}); } catch (e) { /* the session may be over already */ }
  state.me = null;
  state.csrf = null;
  location.hash = "#/login";
}

// ---- flows and drafts -------------------------------------------------------------------

async function showFlows() {
  const data = await api("GET", "/flows");
  const release = data.published.release;
  const rows = data.drafts.map((d) => el("tr", {},
    el("td", {}, el("a", { href: `#/drafts/${d.id}`, class: "open-draft", "data-id": d.id, text: d.title })),
    el("td", { text: `release ${d.base_release}` }, d.stale ? el("span", { class: "tag warn", text: " needs rebase" }) : null),
    el("td", {}, d.changes.length ? d.changes.map((c) => el("span", { class: "tag", text: `${c.file} ${c.status}` })) : el("span", { class: "muted", text: "no changes yet" })),
    el("td", { text: `${d.by} · ${d.at}` })));
  const title = el("input", { id: "draft-title", placeholder: "What is this change for?" });
  const create = el("button", { id: "new-draft", class: "primary", text: "New draft from the published flows", onclick: async () => {
    try {
      const made = await api("POST", "/drafts", { title: title.value || "Untitled change" });
      location.hash = `#/drafts/${made.id}`;
    } catch (e) { failure(e); }
  } });
  view().replaceChildren(
    el("h1", { text: "Flows" }),
    el("div", { class: "card" },
      el("div", {}, el("strong", { text: `Published: release ${release.number}` }),
        el("span", { class: "muted", text: ` · ${release.title ? `“${release.title}”` : release.kind} · by ${release.by} · ${release.at}` })),
      el("div", { class: "muted", text: `Files: ${data.published.files.join(", ")}` })),
    el("h2", { text: "Drafts" }),
    rows.length ? el("table", { id: "drafts" }, el("tr", {}, el("th", { text: "Draft" }), el("th", { text: "Based on" }), el("th", { text: "Changes" }), el("th", { text: "Last edit" })), rows)
      : el("p", { class: "muted", text: "No open drafts." }),
    can("edit_drafts") ? el("div", { class: "row card" }, title, create) : null);
}

async function showDraft(id) {
  const draft = await api("GET", `/drafts/${id}`);
  const files = Object.keys(draft.files);
  let current = files.includes(state.file) ? state.file : (files.includes("main_menu.yaml") ? "main_menu.yaml" : files[0]);
  let revision = draft.revision;
  let texts = { ...draft.files };
  const editable = can("edit_drafts") && draft.state === "open";

  const textarea = el("textarea", { id: "editor", spellcheck: "false", readonly: !editable });
  const gutter = el("pre", { class: "gutter", id: "gutter" });
  const diagnostics = el("ul", { class: "diagnostics", id: "diagnostics" });
  const status = el("span", { id: "status", class: "muted" });
  const output = el("div", { id: "output" });
  const fileList = el("div", { class: "files" });
  let lastDiagnostics = draft.diagnostics;

  function renderGutter() {
    const lines = textarea.value.split("\n").length;
    const bad = new Set(lastDiagnostics.filter((d) => d.file === current && d.severity === "error").map((d) => d.line));
    gutter.replaceChildren(...Array.from({ length: lines }, (_, i) => [bad.has(i + 1) ? el("span", { class: "bad", text: String(i + 1) }) : String(i + 1), "\n"]).flat());
    gutter.scrollTop = textarea.scrollTop;
  }
  function renderDiagnostics(list) {
    lastDiagnostics = list;
    const errors = list.filter((d) => d.severity === "error").length;
    status.textContent = errors ? `${errors} error${errors > 1 ? "s" : ""}: cannot publish` : "No errors";
    status.className = errors ? "error-text" : "muted";
    diagnostics.replaceChildren(...list.map((d) => el("li", {
      class: d.severity, onclick: () => { selectFile(d.file); jumpTo(d.line); },
    }, `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`)));
    renderGutter();
  }
  function jumpTo(line) {
    const lines = textarea.value.split("\n");
    const start = lines.slice(0, line - 1).join("\n").length + (line > 1 ? 1 : 0);
    textarea.focus();
    textarea.setSelectionRange(start, start + (lines[line - 1] || "").length);
  }
  function selectFile(name) {
    if (!(name in texts)) return;
    texts[current] = textarea.value;
    current = name;
    state.file = name;
    textarea.value = texts[name];
    fileList.querySelectorAll("button").forEach((b) => b.classList.toggle("current", b.dataset.file === name));
    renderGutter();
  }
  fileList.replaceChildren(...files.map((f) => el("button", { "data-file": f, onclick: () => selectFile(f), text: f })));
  textarea.addEventListener("input", renderGutter);
  textarea.addEventListener("scroll", () => { gutter.scrollTop = textarea.scrollTop; });

  async function save() {
    texts[current] = textarea.value;
    try {
      const answer = await api("PUT", `/drafts/${id}/files/${encodeURIComponent(current)}`, { revision, text: textarea.value });
      revision = answer.revision;
      renderDiagnostics(answer.diagnostics);
      notice(`Saved ${current}.`);
      if (approval && !draft.needs_approval) {
        approval.className = "error-text";
        approval.textContent = "Edited since it was approved: a second publisher must approve it again before it is published.";
      }
    } catch (e) { failure(e); }
  }
  async function publish() {
    if (!await confirmDialog(`Publish "${draft.title}"? New conversations will use it within seconds; conversations under way finish on the version they began.`)) return;
    try {
      const answer = await api("POST", `/drafts/${id}/publish`, { revision });
      state.flash = `Published as release ${answer.release.number}.`;
      location.hash = "#/history";
    } catch (e) {
      if (e.body && e.body.details) renderDiagnostics(e.body.details.diagnostics);
      failure(e);
    }
  }
  async function approve() {
    if (!await confirmDialog(`Approve "${draft.title}" as it is now? Another publisher can then publish it. Any later edit needs a new approval.`)) return;
    try {
      await api("POST", `/drafts/${id}/approve`, { revision });
      await showDraft(id);
      notice("Approved. Another publisher can publish it now.");
    } catch (e) { failure(e); }
  }
  async function showDiff() {
    const answer = await api("GET", `/drafts/${id}/diff`);
    output.replaceChildren(el("h2", { text: `Changes against release ${answer.from_release}` }), diffView(answer.files));
  }
  async function showGraph() {
    try {
      const answer = await api("GET", `/drafts/${id}/graph`);
      const flowId = current.replace(/\.yaml$/, "");
      const flow = answer.flows.find((f) => f.file.endsWith(current)) || answer.flows.find((f) => f.id === flowId) || answer.flows[0];
      output.replaceChildren(el("h2", { text: `Steps of ${flow.id}` }), graphView(flow));
    } catch (e) { failure(e); }
  }

  const actions = el("div", { class: "row" },
    editable ? el("button", { id: "save", class: "primary", text: "Save", onclick: save }) : null,
    el("button", { id: "validate", text: "Check", onclick: async () => renderDiagnostics((await api("POST", `/drafts/${id}/validate`, {})).diagnostics) }),
    el("button", { id: "diff", text: "Diff", onclick: showDiff }),
    el("a", { id: "open-texts", class: "button", href: `#/drafts/${id}/texts`, text: "Texts" }),
    el("button", { id: "graph", text: "Graph", onclick: showGraph }),
    can("publish") && draft.state === "open" && draft.money_flows.length ? el("button", { id: "approve", text: "Approve", onclick: approve }) : null,
    can("publish") && draft.state === "open" ? el("button", { id: "publish", class: "danger", text: "Publish", onclick: publish }) : null,
    editable ? el("button", { id: "rebase", text: "Rebase", onclick: async () => {
      try { revision = (await api("POST", `/drafts/${id}/rebase`, { revision })).revision; notice("Rebased on the newest release."); showDraft(id); } catch (e) { failure(e); }
    } }) : null,
    editable ? el("button", { id: "discard", text: "Discard", onclick: async () => {
      if (!await confirmDialog("Discard this draft? It stays in the history as discarded.")) return;
      try { await api("POST", `/drafts/${id}/discard`, {}); location.hash = "#/flows"; } catch (e) { failure(e); }
    } }) : null,
    status);

  // Four eyes on money: what this draft changes that moves money, and who approved it.
  const approval = !draft.money_flows.length ? null : el("p", { id: "approval", class: draft.needs_approval ? "error-text" : "muted",
    text: draft.needs_approval
      ? `This draft changes flows that move money (${draft.money_flows.join(", ")}): a second publisher must approve it before it is published.`
      : `Changes flows that move money (${draft.money_flows.join(", ")}); approved by ${draft.approved_by}. Someone else publishes it.` });
  view().replaceChildren(
    el("h1", {}, `Draft ${draft.id}: ${draft.title} `, el("span", { class: "tag", text: draft.state }),
      el("span", { class: "muted", text: ` based on release ${draft.base_release}` })),
    approval,
    el("div", { class: "workspace" },
      fileList,
      el("div", {}, el("div", { class: "editor" }, gutter, textarea), actions, diagnostics, output),
      previewPane(id)));
  textarea.value = texts[current] || "";
  selectFile(current);
  renderDiagnostics(draft.diagnostics);
}

// One element (replaceChildren would print an array of them as "[object HTMLDivElement]").
function diffView(files) {
  if (!files.length) return el("p", { class: "muted", text: "No differences." });
  return el("div", { class: "diffs" }, files.map((f) => el("div", {}, el("strong", { text: `${f.file} (${f.status})` }),
    el("pre", { class: "diff" }, f.diff.split("\n").map((line) =>
      el("span", { class: line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "" }, line + "\n"))))));
}

// A flow as columns of steps by distance from its start, with arrows for transitions.
function graphView(flow) {
  const depth = new Map([[flow.start, 0]]);
  const queue = [flow.start];
  while (queue.length) {
    const at = queue.shift();
    for (const e of flow.edges.filter((x) => x.from === at)) {
      if (!depth.has(e.to)) { depth.set(e.to, depth.get(at) + 1); queue.push(e.to); }
    }
  }
  const nodes = flow.nodes.map((n) => n.id).concat(flow.edges.map((e) => e.to).filter((t) => t.startsWith("flow:")));
  const columns = new Map();
  const place = new Map();
  for (const id of [...new Set(nodes)]) {
    const d = depth.has(id) ? depth.get(id) : 0;
    const row = (columns.get(d) || 0);
    columns.set(d, row + 1);
    place.set(id, { x: 20 + d * 230, y: 20 + row * 70 });
  }
  const width = 20 + (Math.max(...columns.keys()) + 1) * 230;
  const height = 20 + Math.max(...columns.values()) * 70;
  const svg = el("svg", { width, height, viewBox: `0 0 ${width} ${height}` });
  const marker = el("defs", { svg: true }, el("marker", { svg: true, id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse" },
    el("path", { svg: true, d: "M 0 0 L 10 5 L 0 10 z", fill: "#66707a" })));
  svg.append(marker);
  for (const e of flow.edges) {
    const a = place.get(e.from), b = place.get(e.to);
    if (!a || !b) continue;
    svg.append(el("line", { svg: true, x1: a.x + 180, y1: a.y + 22, x2: b.x, y2: b.y + 22, stroke: "#9aa4ad", "marker-end": "url(#arrow)" }));
    if (e.label) svg.append(el("text", { svg: true, x: (a.x + 180 + b.x) / 2, y: (a.y + b.y) / 2 + 16, fill: "#0b6b50" }, e.label));
  }
  const byId = new Map(flow.nodes.map((n) => [n.id, n]));
  for (const [id, p] of place) {
    const node = byId.get(id);
    const fill = !node ? "#e6eef9" : node.kind === "action" ? "#fff1d6" : node.kind === "ask" ? "#e6f4ea" : "#fff";
    svg.append(el("rect", { svg: true, x: p.x, y: p.y, width: 180, height: 44, rx: 6, fill, stroke: id === flow.start ? "#0b6b50" : "#9aa4ad" }));
    svg.append(el("text", { svg: true, x: p.x + 8, y: p.y + 17, "font-weight": "600" }, node ? `${node.kind}: ${id}` : id));
    if (node && node.text) svg.append(el("text", { svg: true, x: p.x + 8, y: p.y + 34, fill: "#66707a" }, node.text.slice(0, 30)));
  }
  return el("div", { class: "graph", id: "graph-view" }, svg);
}

// The simulator pane: chats with the draft against a bank of its own.
function previewPane(id) {
  const chat = el("ul", { class: "chat", id: "preview-chat" });
  const input = el("input", { id: "preview-text", placeholder: "Type as a customer" });
  const session = el("div", { class: "muted", id: "preview-session" });
  function show(answer) {
    for (const body of answer.replies) chat.append(bubble(body));
    session.textContent = answer.session ? `flow ${answer.session.flow} · step ${answer.session.step} · version ${answer.session.version}` : "";
    chat.scrollTop = chat.scrollHeight;
  }
  function bubble(body) {
    if (body.type === "text") return el("li", { class: "in", text: body.text.body });
    if (body.type === "interactive") {
      const i = body.interactive;
      const options = i.type === "button" ? i.action.buttons.map((b) => b.reply) : i.action.sections.flatMap((s) => s.rows);
      return el("li", { class: "in" }, i.body.text, el("div", {}, options.map((o) =>
        el("button", { "data-id": o.id, text: o.title, onclick: () => send({ reply: { id: o.id, title: o.title } }, o.title) }))));
    }
    return el("li", { class: "notice", text: JSON.stringify(body) });
  }
  async function send(message, shown) {
    chat.append(el("li", { class: "out", text: shown }));
    try { show(await api("POST", `/drafts/${id}/preview`, message)); } catch (e) {
      chat.append(el("li", { class: "notice", text: (e.body && e.body.error) || "The preview failed." }));
    }
  }
  const form = el("form", { class: "row" }, input, el("button", { id: "preview-send", type: "submit", text: "Send" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value.trim()) send({ text: input.value }, input.value);
    input.value = "";
  });
  return el("div", { class: "card" },
    el("h2", { text: "Try this draft" }),
    el("p", { class: "muted", text: "A private test bank: nothing reaches customers, money or WhatsApp." }),
    chat, form, session,
    el("button", { id: "preview-reset", text: "Start over", onclick: async () => {
      await api("POST", `/drafts/${id}/preview`, { reset: true });
      chat.replaceChildren();
      session.textContent = "";
    } }),
    testCustomerPane());
}

// Money and an older account for the admin's test customer, so a loan can be tried.
function testCustomerPane() {
  const status = el("p", { id: "preview-customer", class: "muted", text: "Open an account in the chat first, then give it money or age it." });
  async function change(path, body, input) {
    try {
      const c = await api("POST", path, body);
      status.className = "";
      status.textContent = `${c.done} Balance ${c.balance} · account ${c.age_days} days old (opened ${c.opened_on}).`;
      input.value = "";
    } catch (e) {
      status.className = "notice";
      status.textContent = (e.body && e.body.error) || "That did not work.";
    }
  }
  const amount = el("input", { id: "preview-amount", placeholder: "Amount, e.g. 150000" });
  const fund = el("form", { class: "row" }, amount, el("button", { id: "preview-fund", type: "submit", text: "Add money" }));
  fund.addEventListener("submit", (event) => {
    event.preventDefault();
    if (amount.value.trim()) change("/preview/credit", { amount: amount.value }, amount);
  });
  const days = el("input", { id: "preview-days", type: "number", min: "0", max: "3650", placeholder: "Days, e.g. 60" });
  const age = el("form", { class: "row" }, days, el("button", { id: "preview-age", type: "submit", text: "Set account age" }));
  age.addEventListener("submit", (event) => {
    event.preventDefault();
    const n = Number(days.value);
    if (days.value !== "" && Number.isInteger(n) && n >= 0) change("/preview/age", { days: n }, days);
    else { status.className = "notice"; status.textContent = "Days: a whole number from 0 to 3650."; }
  });
  return el("div", { id: "preview-test-customer" },
    el("h3", { text: "Test customer" }), fund, age, status);
}

// ---- history ----------------------------------------------------------------------------

async function showHistory() {
  const data = await api("GET", "/releases");
  const head = data.releases[0];
  const diff = el("div", { id: "release-diff" });
  const rows = data.releases.map((r) => el("tr", { "data-release": r.number },
    el("td", { text: `${r.number}` }),
    el("td", { class: "what", text: r.title ? `“${r.title}”` : r.kind === "rollback" ? `Rollback to release ${r.rollback_of}` : r.kind === "baseline" ? "The flows folder" : r.kind }),
    el("td", { class: "by", text: r.by }), el("td", { class: "at", text: r.at }), el("td", { class: "muted", text: r.version.slice(0, 12) }),
    el("td", {},
      r.number > 1 ? el("button", { class: "show-diff", text: "Changes", onclick: async () => {
        const answer = await api("GET", `/releases/${r.number}/diff?against=${r.number - 1}`);
        diff.replaceChildren(el("h2", { text: `Release ${r.number} against ${r.number - 1}` }), diffView(answer.files));
      } }) : null,
      can("publish") && r.number !== head.number && r.version !== head.version ? el("button", { class: "rollback danger", "data-release": r.number, text: "Roll back to this", onclick: async () => {
        if (!await confirmDialog(`Publish release ${r.number}'s flows again, as release ${head.number + 1}? New conversations will use them within seconds.`)) return;
        try {
          const answer = await api("POST", `/releases/${r.number}/rollback`, { confirm: true });
          notice(`Rolled back: release ${answer.release.number} serves release ${r.number}'s flows.`);
          showHistory();
        } catch (e) { failure(e); }
      } }) : null)));
  view().replaceChildren(el("h1", { text: "History" }),
    el("table", { id: "releases" }, el("tr", {}, ["Release", "What", "By", "When", "Version", ""].map((h) => el("th", { text: h }))), rows), diff);
}

// ---- customers --------------------------------------------------------------------------

function showCustomers() {
  const phone = el("input", { id: "customer-phone", placeholder: "Phone, e.g. 08030000001" });
  const result = el("div", { id: "customer" });
  async function search(event) {
    if (event) event.preventDefault();
    try {
      const data = await api("GET", `/customers?phone=${encodeURIComponent(phone.value)}`);
      if (!data.customer) { result.replaceChildren(el("p", { text: "No customer with that number." })); return; }
      const c = data.customer;
      result.replaceChildren(el("div", { class: "card" },
        el("h2", { text: c.name }),
        el("div", { text: `Phone ${c.phone} · ID ${c.id_number} · born ${c.year_of_birth} · tier ${c.kyc_tier} · customer since ${when(c.since)}` }),
        data.wallet ? el("div", { text: `Wallet ${data.wallet.number}: balance ${data.wallet.balance}, available ${data.wallet.available}` }) : null,
        el("div", { id: "pin-state" }, el("span", { class: c.pin_locked ? "tag bad" : "tag", text: pinState(c) }),
          c.pin_locked || c.reset_refused_until ? el("button", { id: "unlock", class: "danger", text: "Unlock PIN", onclick: async () => {
            if (!await confirmDialog(unlockQuestion(c))) return;
            try { await api("POST", `/customers/${c.id}/unlock`, {}); notice("PIN unlocked."); search(); } catch (e) { failure(e); }
          } }) : null),
        c.reset_refused_until ? el("div", { id: "reset-refused", class: "tag bad", text: resetRefused(c) }) : null,
        c.pin_reset_at ? el("div", { id: "pin-reset", text: pinReset(c) }) : null,
        el("h2", { text: "Recent transactions" }),
        el("table", {}, el("tr", {}, ["When", "Reference", "Kind", "In/out", "Amount", "Fee", "Counterparty", "State"].map((h) => el("th", { text: h }))),
          data.transactions.map((t) => el("tr", {}, [when(t.at), t.reference, t.kind, t.direction, t.amount, t.fee, t.counterparty, t.state].map((v) => el("td", { text: v }))))),
        el("h2", { text: "Loans and offers" }),
        data.loans.length
          ? table("customer-loans", ["Reference", "Product", "State", "Offered", "Principal", "Total", "Paid", "Owed", "Late fees"],
            data.loans.map((l) => [l.reference, l.product, l.state, l.offered_on, l.principal, l.total, l.paid, l.outstanding, l.late_fees]))
          : el("p", { text: "None." })));
    } catch (e) { failure(e); }
  }
  const form = el("form", { class: "row card" }, phone, el("button", { id: "customer-search", class: "primary", type: "submit", text: "Find" }));
  form.addEventListener("submit", search);
  view().replaceChildren(el("h1", { text: "Customers" }), form, result);
}

// What an operator needs to know about a customer's PIN before lifting a lock.
function pinState(c) {
  if (!c.pin_locked) return "PIN not locked";
  const row = c.pin_locks_in_a_row > 1 ? ` (lock ${c.pin_locks_in_a_row} in a row)` : "";
  if (c.locked_until_operator_unlocks) return `PIN blocked until an operator unlocks it${row}`;
  return `PIN locked until ${when(c.locked_until)}${row}`;
}

// A forgotten PIN's reset refused after wrong answers to its questions.
function resetRefused(c) {
  return `The customer's answers to the PIN reset's questions (date of birth, BVN or NIN) were wrong too many times: they may try again after ${when(c.reset_refused_until)}.`;
}

// What lifting a lock lifts, asked before it is done.
function unlockQuestion(c) {
  const what = c.pin_locked && c.reset_refused_until ? "PIN lockout, and let them reset a forgotten PIN again"
    : c.pin_locked ? "PIN lockout" : "refusal, and let them reset a forgotten PIN in the chat again";
  return `Lift this customer's ${what}? Do it only after confirming who they are.`;
}

// A forgotten PIN the customer reset in chat, and the smaller limits that follow it.
function pinReset(c) {
  const limits = c.smaller_limits_until ? `; transfers are held to the smaller limits until ${when(c.smaller_limits_until)}` : "";
  return `The customer reset a forgotten PIN in the chat ${when(c.pin_reset_at)}${limits}.`;
}

// ---- audit ------------------------------------------------------------------------------

async function showAudit(before) {
  const data = await api("GET", "/audit" + (before ? `?before=${before}` : ""));
  const rows = data.events.map((e) => el("tr", {},
    el("td", { text: when(e.at) }), el("td", { text: e.by || e.actor }), el("td", { text: e.action }), el("td", { text: e.subject }),
    el("td", {}, el("details", {}, el("summary", { text: "detail" }), el("pre", { text: JSON.stringify(e.detail, null, 2) })))));
  const last = data.events[data.events.length - 1];
  view().replaceChildren(el("h1", { text: "Audit log" }),
    el("table", { id: "audit" }, el("tr", {}, ["When", "Who", "What", "Subject", ""].map((h) => el("th", { text: h }))), rows),
    last ? el("p", {}, el("button", { text: "Older", onclick: () => showAudit(last.id) })) : null);
}

// ---- loans ------------------------------------------------------------------------------

// Minor units as money, without floating point: "NGN 1,234.56".
function money(minor, currency) {
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  const major = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}${currency} ${major}.${String(abs % 100).padStart(2, "0")}`;
}

function table(id, headings, rows) {
  return el("table", { id }, el("tr", {}, headings.map((h) => el("th", { text: h }))),
    rows.map((cells) => el("tr", {}, cells.map((c) => el("td", { text: c })))));
}

async function showLoans() {
  const book = await api("GET", "/loans");
  const m = (minor) => money(minor, book.currency);
  const counts = (o) => Object.entries(o).map(([k, v]) => `${k}: ${v}`).join(", ") || "none";
  view().replaceChildren(el("h1", { text: `Loan book on ${book.as_of}` }),
    table("loan-summary", ["Running loans", "Repaid loans", "Lent", "Principal out", "Owed", "Fees earned", "Interest earned"],
      [[book.active_loans, book.repaid_loans, m(book.lent), m(book.principal_outstanding), m(book.outstanding), m(book.fees_earned), m(book.interest_earned)]]),
    el("p", { id: "ledger-check", class: book.ledger_agrees ? "" : "error",
      text: book.ledger_agrees
        ? `✓ The ledger agrees: the loan book account holds ${m(book.loan_book_balance)}, minus the principal out.`
        : `✗ The ledger disagrees: the loan book account holds ${m(book.loan_book_balance)}, but ${m(book.principal_outstanding)} of principal is out.` }),
    el("h2", { text: "By product" }),
    table("loan-products", ["Product", "Running", "Repaid", "Lent", "Owed", "Charges earned"],
      book.products.map((p) => [p.name || p.product, p.active_loans, p.repaid_loans, m(p.lent), m(p.outstanding), m(p.charges_earned)])),
    el("h2", { text: "Arrears (days past the oldest unpaid due date)" }),
    table("loan-arrears", ["Days past due", "Loans", "Owed"], book.arrears.map((b) => [b.days_past_due, b.loans, m(b.outstanding)])),
    el("h2", { text: "Overdue loans" }),
    book.overdue.length
      ? table("loan-overdue", ["Loan", "Product", "Days past due", "Owed", "Late fees"],
        book.overdue.map((o) => [o.reference, o.product, o.days_past_due, m(o.outstanding), m(o.late_fees)]))
      : el("p", { text: "None." }),
    el("h2", { text: "Last 30 days" }),
    el("p", { text: `Decisions: ${counts(book.decisions_30d)}.` }),
    el("p", { text: `Offers: ${counts(book.offers_30d)} (offered: not answered).` }),
    el("h2", { text: "Products in force (config/loans.yaml)" }),
    table("loan-catalogue", ["Product", "Tiers", "Amounts", "Installments", "Fee", "Interest", "Late fee", "Grace"],
      book.catalogue.map((p) => [`${p.name} (${p.id})`, p.tiers.join(", "), `${m(p.min)} to ${m(p.max)}`,
        `${p.tenors.join(", ")} × ${p.every}`, `${m(p.fee.flat)} + ${p.fee.percent}%`, `${p.interest_percent}% a ${p.every}`,
        `${m(p.late_fee.flat)} + ${p.late_fee.percent}%`, `${p.grace_days} days`])));
}

// ---- routing ----------------------------------------------------------------------------

async function route() {
  // A message from the page that sent us here survives the move, once.
  notice(state.flash || "");
  state.flash = null;
  clearInterval(state.poll);
  let hash = location.hash || "#/flows";
  const setup = hash.match(/^#\/setup\/([0-9a-f]{64})$/);
  if (setup) return showSetup(setup[1]);
  if (!state.me && hash !== "#/login") {
    try {
      const me = await api("GET", "/me");
      state.me = me;
      state.csrf = me.csrf_token;
    } catch (e) {
      location.hash = "#/login";
      return;
    }
  }
  if (hash === "#/login" || !state.me) return showLogin();
  // An agent's console is the care desk.
  if (hash === "#/flows" && !can("read")) hash = "#/tickets";
  document.getElementById("nav").hidden = false;
  document.getElementById("logout").hidden = false;
  document.getElementById("who").textContent = `${state.me.email} (${state.me.role})`;
  // A session ended elsewhere (disabled, reset, logged out) shows here within seconds.
  clearInterval(state.heartbeat);
  state.heartbeat = setInterval(() => api("GET", "/me").catch(() => {}), 5000);
  document.querySelectorAll("#nav a").forEach((a) => {
    a.hidden = !!a.dataset.needs && !can(a.dataset.needs);
    a.classList.toggle("active", hash.startsWith(`#/${a.dataset.nav}`));
  });
  // A page the role does not open says so, rather than showing a form the API refuses.
  const page = document.querySelector(`#nav a[data-nav="${(hash.match(/^#\/([a-z]+)/) || [])[1]}"]`);
  if (page && page.dataset.needs && !can(page.dataset.needs)) {
    view().replaceChildren(el("h1", { text: page.textContent }),
      el("p", { id: "not-allowed", class: "error-text", text: `Your role (${state.me.role}) does not open this page. An owner can change roles on the Admins page.` }));
    return;
  }
  try {
    const texts = hash.match(/^#\/drafts\/(\d+)\/texts$/);
    if (texts) return await showTexts(Number(texts[1]));
    const draft = hash.match(/^#\/drafts\/(\d+)$/);
    if (draft) return await showDraft(Number(draft[1]));
    if (hash === "#/history") return await showHistory();
    if (hash === "#/customers") return showCustomers();
    if (hash === "#/audit") return await showAudit();
    if (hash === "#/loans") return await showLoans();
    if (hash === "#/whatsapp") return await showWhatsApp();
    if (hash === "#/admins") return await showAdmins();
    if (hash === "#/operations") return await showOperations();
    const ticket = hash.match(/^#\/tickets\/(\d+)$/);
    if (ticket) return await showTicket(Number(ticket[1]));
    if (hash === "#/tickets") return await showTickets();
    return await showFlows();
  } catch (e) { failure(e); }
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("logout").addEventListener("click", logout);
  route();
});
