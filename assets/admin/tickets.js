// The customer care desk: the queue of tickets and one ticket's conversation, for agents and
// operators. The view refreshes itself every few seconds while it is open, so a customer's
// new message or another agent's claim shows without a reload. Loaded beside app.js, whose
// helpers (el, api, notice, failure, when, can, confirmDialog, view, state) it uses.
"use strict";

const CATEGORY = {
  failed_transfer: "Failed transfer", wrong_debit: "Wrong debit", missing_credit: "Money not received",
  fraud: "Fraud / frozen", loan: "Loan", other: "Other",
};

// Runs `refresh` now and every 3 seconds until the page changes.
function live(refresh) {
  clearInterval(state.poll);
  const hash = location.hash;
  state.poll = setInterval(() => {
    if (location.hash !== hash) { clearInterval(state.poll); return; }
    refresh().catch(() => {});
  }, 3000);
  return refresh();
}

function age(minutes) {
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  return `${Math.floor(minutes / 1440)} days`;
}

async function showTickets() {
  const list = el("div", { id: "ticket-queue" });
  view().replaceChildren(el("h1", { text: "Customer care" }), list);
  await live(async () => {
    const data = await api("GET", "/tickets?status=open");
    if (!data.tickets.length) { list.replaceChildren(el("p", { class: "card", text: "No open tickets." })); return; }
    list.replaceChildren(el("table", { class: "card" },
      el("tr", {}, ["Tracking number", "Category", "Customer", "Waiting", "Time left", "Holder", "Chatting"].map((h) => el("th", { text: h }))),
      data.tickets.map((t) => el("tr", { "data-ticket": t.id },
        el("td", {}, el("a", { href: `#/tickets/${t.id}`, text: t.reference })),
        el("td", { text: CATEGORY[t.category] || t.category }),
        el("td", { text: t.customer || "" }),
        el("td", { text: age(t.age_minutes) }),
        el("td", { class: t.minutes_left < 0 ? "bad" : "", text: t.minutes_left < 0 ? `late by ${age(-t.minutes_left)}` : `${age(t.minutes_left)} left` }),
        el("td", { text: t.agent_id === null ? "nobody yet" : (t.agent_id === state.me.id ? "you" : `agent ${t.agent_id}`) }),
        el("td", { text: t.with_person ? "yes" : "no" })))));
  });
}

async function showTicket(id) {
  const head = el("div", { id: "ticket-head", class: "card" });
  const chat = el("ul", { class: "chat", id: "ticket-chat" });
  const money = el("div", { id: "ticket-money", class: "card" });
  const text = el("textarea", { id: "ticket-reply", rows: "3", placeholder: "Answer the customer" });
  const send = el("form", { class: "card" }, text, el("button", { id: "ticket-send", class: "primary", type: "submit", text: "Send" }));
  const resolution = el("input", { id: "ticket-resolution", placeholder: "How it was resolved" });
  const close = el("form", { class: "row card" }, resolution, el("button", { id: "ticket-close", type: "submit", text: "Close ticket" }));
  view().replaceChildren(el("p", {}, el("a", { href: "#/tickets", text: "← All open tickets" })), head, chat, send, close, money);

  async function act(method, path, body, done) {
    try { await api(method, path, body); notice(done); await refresh(); } catch (e) { failure(e); }
  }
  send.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!text.value.trim()) return;
    act("POST", `/tickets/${id}/messages`, { text: text.value }, "Sent to the customer.").then(() => { text.value = ""; });
  });
  close.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!resolution.value.trim()) { notice("Say how it was resolved: the customer reads it.", true); return; }
    act("POST", `/tickets/${id}/close`, { resolution: resolution.value }, "Closed. The customer was asked to rate the help.");
  });

  async function refresh() {
    const data = await api("GET", `/tickets/${id}`);
    const t = data.ticket, c = data.customer;
    const holder = t.agent_id === null ? "Nobody holds it yet." : (t.agent_id === state.me.id ? "You hold it." : `Agent ${t.agent_id} holds it.`);
    head.replaceChildren(
      el("h1", { text: `${t.reference} · ${CATEGORY[t.category] || t.category}` }),
      el("p", { id: "ticket-state", text: `${t.status === "open" ? "Open" : `Closed: ${t.resolution}`} · opened ${when(t.opened_at)} · ${holder}${t.rating ? ` · rated ${t.rating}/5` : ""}` }),
      el("p", { text: `${c.name} · ${c.phone} · tier ${c.kyc_tier}${c.frozen ? " · account frozen" : ""}` }),
      t.status === "open" && t.agent_id !== state.me.id
        ? el("button", { id: "ticket-claim", text: t.agent_id === null ? "Claim" : "Take over", onclick: () =>
          act("POST", `/tickets/${id}/claim`, { take_over: t.agent_id !== null }, "The ticket is yours.") })
        : null,
      c.frozen && can("support_customers") ? unfreezeForm(c.id, refresh) : null);
    chat.replaceChildren(...data.messages.map((m) => el("li", { class: m.author === "customer" ? "in" : "out" },
      el("div", { class: "muted", text: `${m.author === "customer" ? "Customer" : m.author === "agent" ? `Agent ${m.admin_id}` : "Bot"} · ${when(m.at)}` }),
      el("div", { text: m.text }))));
    if (!data.messages.length) chat.replaceChildren(el("li", { class: "notice", text: "The customer has not written to this ticket yet." }));
    send.hidden = close.hidden = t.status !== "open";
    money.replaceChildren(el("h2", { text: "Recent transactions" }),
      data.transaction ? el("p", { id: "ticket-transaction", text: `Complained about: ${data.transaction.reference} · ${data.transaction.direction} ${data.transaction.amount} · ${data.transaction.state}` }) : null,
      el("table", {}, el("tr", {}, ["When", "Reference", "In/out", "Amount", "Counterparty", "State"].map((h) => el("th", { text: h }))),
        data.transactions.map((x) => el("tr", {}, [when(x.at), x.reference, x.direction, x.amount, x.counterparty, x.state].map((v) => el("td", { text: v }))))));
  }
  await live(refresh);
}

// An operator lifts a freeze after checking who the customer is, with their own current code.
function unfreezeForm(customer, refresh) {
  const code = el("input", { id: "unfreeze-code", inputmode: "numeric", placeholder: "Your authenticator code" });
  const form = el("form", { class: "row" }, code, el("button", { id: "unfreeze", class: "danger", type: "submit", text: "Unfreeze account" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!await confirmDialog("Unfreeze this account? Do it only after confirming who the customer is.")) return;
    try { await api("POST", `/customers/${customer}/unfreeze`, { code: code.value }); notice("The account is unfrozen."); await refresh(); } catch (e) { failure(e); }
  });
  return form;
}
