// The WhatsApp account's health: each template's review status and quality and each number's
// rating and messaging limit, as Meta last reported them. Loaded beside app.js, whose helpers
// (el, api, table, when, view) it uses.
"use strict";

const TEMPLATE_STATUS = {
  APPROVED: "Approved", PAUSED: "Paused by Meta", DISABLED: "Disabled by Meta", REJECTED: "Rejected",
  PENDING: "In review", UNKNOWN: "Not reported yet",
};
const QUALITY = { GREEN: "High", YELLOW: "Medium", RED: "Low", UNKNOWN: "Not rated yet" };

async function showWhatsApp() {
  const health = await api("GET", "/whatsapp");
  const held = health.templates.filter((t) => t.sending !== "sent");
  view().replaceChildren(el("h1", { text: "WhatsApp account" }),
    el("p", { id: "whatsapp-summary", class: held.length ? "error" : "",
      text: held.length
        ? `⚠️ ${held.length} template(s) cannot be sent now: messages that need them wait until Meta approves them again.`
        : "✓ Every reported template can be sent." }),
    el("h2", { text: "Templates" }),
    health.templates.length
      ? table("whatsapp-templates", ["Template", "Language", "Status", "Quality", "Sending", "Reported"],
        health.templates.map((t) => [t.name, t.language,
          (TEMPLATE_STATUS[t.status] || t.status) + (t.status_reason ? ` (${t.status_reason})` : ""),
          QUALITY[t.quality] || t.quality, t.sending, t.status_at ? when(t.status_at) : "—"]))
      : el("p", { text: "Meta has not reported on any template yet." }),
    el("h2", { text: "Phone numbers" }),
    health.numbers.length
      ? table("whatsapp-numbers", ["Number", "Last event", "Messaging limit", "Reported"],
        health.numbers.map((n) => [n.display_phone_number, n.event, n.tier || "—", when(n.updated_at)]))
      : el("p", { text: "Meta has not reported on the number yet." }));
}
