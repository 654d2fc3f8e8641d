// Operator tools: transfers held in suspense resolved with the rail's evidence, a late fee
// waived, a loan restructured or written off, and the requests above the approval amount that
// wait for a second admin. Loaded beside app.js, whose helpers (el, api, view, when, notice,
// failure, confirmDialog, state) it uses.
"use strict";

const KINDS = { resolve_transfer: "Resolve transfer", waive_late_fee: "Waive late fee", restructure_loan: "Restructure loan", write_off_loan: "Write off loan" };

// What a correction answered: done now, or waiting for a second admin.
function asked(answer) {
  const r = answer.request;
  return answer.status === "waiting"
    ? `Request ${r.id} waits for a second admin's approval (${r.amount_shown || "above the approval amount"}).`
    : r.outcome;
}

async function showOperations() {
  const data = await api("GET", "/operations");
  const run = async (question, method, path, body) => {
    if (question && !await confirmDialog(question)) return;
    try {
      const answer = await api(method, path, body);
      await showOperations();
      notice(answer.status ? asked(answer) : `Request ${answer.request.id}: ${answer.request.state}. ${answer.request.outcome || ""}`);
    } catch (e) { failure(e); }
  };
  const suspense = data.suspense.length ? el("table", { id: "suspense" },
    el("tr", {}, ["Transfer", "To", "Amount", "In suspense since", "The rail says", ""].map((h) => el("th", { text: h }))),
    data.suspense.map((t) => {
      const outcome = el("select", { class: "outcome" }, el("option", { value: "sent", text: "Delivered (sent)" }), el("option", { value: "returned", text: "Returned to us" }));
      const evidence = el("input", { class: "evidence", placeholder: "Rail reference, session id or statement line" });
      const reason = el("input", { class: "reason", placeholder: "Why" });
      return el("tr", { "data-reference": t.reference },
        el("td", { text: t.reference }), el("td", { text: `${t.to} (${t.account})` }), el("td", { text: `${t.amount} + ${t.fee} fee` }),
        el("td", { text: when(t.suspense_at) }), el("td", {}, outcome, evidence, reason),
        el("td", {}, el("button", { class: "resolve primary", text: "Resolve", onclick: () => run(
          `Resolve ${t.reference} as ${outcome.value}? ${outcome.value === "sent" ? "The money goes on to the other bank." : "The money goes back to the customer."}`,
          "POST", `/transfers/${encodeURIComponent(t.reference)}/resolve`, { outcome: outcome.value, evidence: evidence.value, reason: reason.value }) })));
    })) : el("p", { id: "suspense", class: "muted", text: "No transfer is held in suspense." });

  const loanRef = el("input", { id: "loan-reference", placeholder: "Loan reference, e.g. L20261205…" });
  const loanReason = el("input", { id: "loan-reason", placeholder: "Why (required)" });
  const installment = el("input", { id: "installment", type: "number", min: 1, value: 1 });
  const firstDue = el("input", { id: "first-due", type: "date" });
  const loan = (path) => `/loans/${encodeURIComponent(loanRef.value.trim())}/${path}`;
  const loanTools = el("div", { class: "card", id: "loan-tools" },
    el("div", { class: "row" }, loanRef, loanReason),
    el("div", { class: "row" }, el("label", { text: "Installment" }), installment,
      el("button", { id: "waive", text: "Waive its late fee", onclick: () => run(null, "POST", loan("waive-late-fee"), { installment: Number(installment.value), reason: loanReason.value }) })),
    el("div", { class: "row" }, el("label", { text: "Unpaid installments due again from" }), firstDue,
      el("button", { id: "restructure", text: "Restructure", onclick: () => run(null, "POST", loan("restructure"), { first_due: firstDue.value, reason: loanReason.value }) })),
    el("div", { class: "row" }, el("button", { id: "write-off", class: "danger", text: "Write the loan off", onclick: () => run(
      "Write this loan off? The principal still out becomes a loss and nothing more is collected.", "POST", loan("write-off"), { reason: loanReason.value }) })));

  const requests = el("table", { id: "requests" },
    el("tr", {}, ["#", "What", "About", "Amount", "Why", "Asked by", "State", "Outcome", ""].map((h) => el("th", { text: h }))),
    data.requests.map((r) => {
      const note = el("input", { class: "reject-reason", placeholder: "Why not" });
      const mine = r.requested_by === `admin:${state.me.id}`;
      return el("tr", { "data-request": r.id },
        el("td", { text: r.id }), el("td", { text: KINDS[r.kind] || r.kind }), el("td", { text: r.subject }),
        el("td", { text: r.amount_shown }), el("td", { text: r.reason }), el("td", { text: `${r.requested_by} · ${when(r.requested_at)}` }),
        el("td", { class: `state ${r.state}`, text: r.state }), el("td", { text: r.outcome || "" }),
        el("td", {}, r.state !== "pending" ? null : mine ? el("span", { class: "muted", text: "another admin approves" }) : [
          el("button", { class: "approve primary", text: "Approve", onclick: () => run(`Approve request ${r.id}? It runs now.`, "POST", `/operations/${r.id}/approve`, {}) }),
          note, el("button", { class: "reject", text: "Reject", onclick: () => run(null, "POST", `/operations/${r.id}/reject`, { reason: note.value }) })]));
    }));

  view().replaceChildren(el("h1", { text: "Operations" }),
    el("p", { id: "approval-rule", class: "muted", text: `Corrections above ${data.approval_above_shown} wait for a second admin's approval; the admin who asks cannot approve.` }),
    el("h2", { text: "Transfers held in suspense" }), suspense,
    el("h2", { text: "Loans" }), loanTools,
    el("h2", { text: "Requests" }), data.requests.length ? requests : el("p", { id: "requests", class: "muted", text: "No request yet." }));
}
