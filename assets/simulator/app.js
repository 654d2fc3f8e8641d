// The simulator page: sends what the customer does to /simulator/api/messages and shows the
// bot's replies (read back from the outbox) and the session (from /simulator/api/session).
"use strict";

// `mine`: what this customer sent from this tab, kept in sessionStorage so that a reload shows
// both sides (an answer to a PIN, code or identity question is kept only as dots).
const state = { phone: "", seen: new Set(), timer: null, mine: [], private: false };
const $ = (id) => document.getElementById(id);

function bubble(cls, text) {
  const li = document.createElement("li");
  li.className = cls;
  li.textContent = text;
  $("chat").appendChild(li);
  $("chat").scrollTop = $("chat").scrollHeight;
  return li;
}

function storageKey() {
  return "teller.simulator.sent." + state.phone;
}

async function post(payload, shown) {
  const response = await fetch("/simulator/api/messages", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(Object.assign({ phone: state.phone }, payload)),
  });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({ error: response.statusText }));
    bubble("bot error", "⚠️ " + problem.error);
  } else {
    const sent = await response.json();
    state.mine.push({ id: sent.id, text: state.private ? "••••" : shown, shown: true });
    sessionStorage.setItem(storageKey(), JSON.stringify(state.mine));
  }
  poll();
}

// After a reload: the customer's own messages go back in, each before the first reply to it.
function before(reply) {
  const at = state.mine.findIndex((m) => !m.shown && reply.in_reply_to && reply.in_reply_to.endsWith(m.id));
  if (at < 0) return;
  for (const m of state.mine.slice(0, at + 1)) {
    if (!m.shown) {
      bubble("me", m.text);
      m.shown = true;
    }
  }
}

// A tap names the message it was on, as WhatsApp's context does: a tap on an earlier message
// than the current question is refused.
function tap(kind, id, title, message) {
  bubble("me", title);
  $("list").hidden = true;
  post({ reply: { kind, id, title, message } }, title);
}

function showList(interactive, message) {
  $("list-title").textContent = interactive.action.button;
  const rows = $("rows");
  rows.replaceChildren();
  for (const section of interactive.action.sections) {
    for (const row of section.rows) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.id = row.id;
      button.textContent = row.title;
      if (row.description) {
        const small = document.createElement("small");
        small.textContent = row.description;
        button.appendChild(small);
      }
      button.addEventListener("click", () => tap("list", row.id, row.title, message));
      li.appendChild(button);
      rows.appendChild(li);
    }
  }
  $("list").hidden = false;
}

// A form (a WhatsApp Flow): its answers go to the Flows endpoint, never into the chat, and
// the page keeps no copy of them. Each screen's fields, as the Flow JSON has them.
const forms = { token: null, screen: null };
const SCREENS = {
  PIN_ENTRY: [{ name: "pin", label: "Your PIN", type: "password", inputmode: "numeric", maxlength: 6 }],
  CODE_ENTRY: [{ name: "code", label: "6-digit code", type: "password", inputmode: "numeric", maxlength: 6 }],
  REGISTRATION: [
    { name: "first_name", label: "First name (as on your ID)", type: "text", maxlength: 60 },
    { name: "last_name", label: "Surname", type: "text", maxlength: 60 },
    { name: "date_of_birth", label: "Date of birth", type: "date" },
    { name: "id_number", label: "BVN or NIN (11 digits)", type: "text", inputmode: "numeric", maxlength: 11 },
  ],
  IDENTITY_CHECK: [
    { name: "date_of_birth", label: "Date of birth", type: "date" },
    { name: "id_number", label: "BVN or NIN (11 digits)", type: "password", inputmode: "numeric", maxlength: 11 },
  ],
};

function showForm(parameters, cta) {
  const payload = parameters.flow_action_payload;
  forms.token = parameters.flow_token;
  forms.screen = payload.screen;
  $("form-title").textContent = cta;
  $("form-prompt").textContent = payload.data.prompt;
  const fields = $("form-fields");
  fields.replaceChildren();
  for (const field of SCREENS[payload.screen] || []) {
    const label = document.createElement("label");
    label.htmlFor = "form-" + field.name;
    label.textContent = field.label;
    const input = document.createElement("input");
    input.id = "form-" + field.name;
    input.name = field.name;
    input.type = field.type;
    input.required = true;
    input.autocomplete = "off";
    if (field.inputmode) input.inputMode = field.inputmode;
    if (field.maxlength) input.maxLength = field.maxlength;
    fields.append(label, input);
  }
  $("form-error").textContent = payload.data.error_message || "";
  $("form-submit").disabled = false;
  $("form").hidden = false;
  fields.querySelector("input")?.focus();
}

async function submitForm() {
  const data = {};
  for (const input of $("form-fields").querySelectorAll("input")) {
    data[input.name] = input.value;
    // A PIN or code is not left on the page; the form's other answers stay for a correction.
    if (input.type === "password") input.value = "";
  }
  const response = await fetch("/simulator/api/form", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ phone: state.phone, token: forms.token, data }),
  });
  const answer = await response.json().catch(() => ({ error: response.statusText }));
  if (answer.done) {
    $("form").hidden = true;
    $("form-fields").replaceChildren();
    bubble("me", "✅ Sent");
    state.mine.push({ id: answer.id, text: "✅ Sent", shown: true });
    sessionStorage.setItem(storageKey(), JSON.stringify(state.mine));
    return poll();
  }
  if (answer.screen) {
    $("form-error").textContent = answer.data.error_message;
    return;
  }
  $("form-error").textContent = answer.error;
  $("form-submit").disabled = true;
}

function render(body, message) {
  if (body.type === "text") return bubble("bot", body.text.body);
  if (body.type === "template") return bubble("bot", "[template " + body.template.name + "]");
  if (body.type !== "interactive") return bubble("bot", JSON.stringify(body));
  const interactive = body.interactive;
  const li = bubble("bot", interactive.body.text);
  if (interactive.footer) {
    const footer = document.createElement("div");
    footer.className = "footer";
    footer.textContent = interactive.footer.text;
    li.appendChild(footer);
  }
  const actions = document.createElement("div");
  actions.className = "actions";
  if (interactive.type === "button") {
    for (const b of interactive.action.buttons) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.id = b.reply.id;
      button.textContent = b.reply.title;
      button.addEventListener("click", () => tap("button", b.reply.id, b.reply.title, message));
      actions.appendChild(button);
    }
  } else if (interactive.type === "list") {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "open-list";
    button.textContent = "☰ " + interactive.action.button;
    button.addEventListener("click", () => showList(interactive, message));
    actions.appendChild(button);
  } else if (interactive.type === "flow") {
    const parameters = interactive.action.parameters;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "open-form";
    button.textContent = "🔒 " + parameters.flow_cta;
    button.addEventListener("click", () => showForm(parameters, parameters.flow_cta));
    actions.appendChild(button);
  }
  li.appendChild(actions);
  return li;
}

async function poll() {
  if (!state.phone) return;
  const phone = encodeURIComponent(state.phone);
  try {
    const replies = await (await fetch("/simulator/api/messages?phone=" + phone)).json();
    for (const m of replies.messages) {
      // Like WhatsApp, the page shows a reply once it was sent, not while it waits to be.
      if (state.seen.has(m.id) || m.state === "pending") continue;
      state.seen.add(m.id);
      before(m);
      render(m.body, m.id);
    }
    if (state.catchUp) {
      // Sent last, with no reply yet (or none to come): at the end.
      for (const m of state.mine.filter((m) => !m.shown)) {
        bubble("me", m.text);
        m.shown = true;
      }
      state.catchUp = false;
    }
    const session = await (await fetch("/simulator/api/session?phone=" + phone)).json();
    state.private = Boolean(session && session.private);
    showSession(session);
  } catch (e) {
    // The server restarting: the next poll catches up.
  }
}

function showSession(session) {
  const dl = $("session");
  dl.replaceChildren();
  const add = (k, v) => {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dd.dataset.key = k;
    dl.append(dt, dd);
  };
  if (!session) return add("none yet", "");
  add("flow", session.flow);
  add("step", session.step);
  add("status", session.status);
  add("language", session.language);
  add("version", session.version);
  add("expires", new Date(session.expires_at * 1000).toLocaleTimeString());
  for (const [k, v] of Object.entries(session.vars)) add("{{" + k + "}}", v);
}

function choose(phone) {
  state.phone = phone;
  state.seen = new Set();
  $("chat").replaceChildren();
  state.mine = JSON.parse(sessionStorage.getItem(storageKey()) || "[]").map((m) => Object.assign(m, { shown: false }));
  state.catchUp = true;
  const url = new URL(window.location);
  url.searchParams.set("phone", phone);
  window.history.replaceState(null, "", url);
  clearInterval(state.timer);
  state.timer = setInterval(poll, 700);
  poll();
}

document.addEventListener("DOMContentLoaded", () => {
  const given = new URLSearchParams(window.location.search).get("phone");
  if (given) $("phone").value = given;
  $("who").addEventListener("submit", (e) => {
    e.preventDefault();
    choose($("phone").value.trim());
  });
  $("compose").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    $("text").value = "";
    bubble("me", text);
    post({ text }, text);
  });
  $("voice").addEventListener("click", () => {
    bubble("me", "🎤 voice note");
    post({ media: "audio" }, "🎤 voice note");
  });
  $("list-close").addEventListener("click", () => ($("list").hidden = true));
  $("form").addEventListener("submit", (e) => {
    e.preventDefault();
    submitForm();
  });
  $("form-close").addEventListener("click", () => ($("form").hidden = true));
  $("topup").addEventListener("submit", async (e) => {
    e.preventDefault();
    const amount = $("amount").value.trim();
    const response = await fetch("/simulator/api/credit", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ phone: state.phone, amount }),
    });
    const answer = await response.json().catch(() => ({ error: response.statusText }));
    $("topup-result").textContent = {
      applied: "Added " + amount + " to " + state.phone + ".",
      refused: "Not added: it would take the account past its maximum balance.",
      unknown: "Not added: " + state.phone + " has no account yet. Register first.",
    }[answer.status] || "Not added: " + (answer.error || response.statusText);
    poll();
  });
  choose($("phone").value.trim());
});
