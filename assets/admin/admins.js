// Admin accounts (owners only) and the setup page a new or reset admin opens from their link.
// Loaded beside app.js, whose helpers (el, api, view, when, notice, failure, confirmDialog) it
// uses.
"use strict";

const ROLES = {
  owner: "Owner: runs admin accounts, and everything else",
  viewer: "Viewer: reads flows, history and the audit log",
  editor: "Editor: edits drafts",
  publisher: "Publisher: edits, approves and publishes",
  operator: "Operator: supports customers and handles tickets",
  agent: "Agent: handles tickets only",
};
const STATUS = { active: "Active", invited: "Invited: not set up yet", reset: "Waiting for their setup link", disabled: "Disabled" };

function roleSelect(id, selected) {
  return el("select", { id }, Object.entries(ROLES).map(([value, text]) =>
    el("option", { value, selected: value === selected, text })));
}

// The link to hand over, shown once.
function setupLinkBox(email, setup) {
  const url = location.origin + setup.path;
  return el("div", { id: "setup-link", class: "card" },
    el("p", { text: `Send this link to ${email} yourself (by a channel you trust). It works once, until ${when(setup.expires_at)}, and is not shown again:` }),
    el("p", {}, el("code", { id: "setup-url", text: url })),
    el("button", { text: "Copy link", onclick: () => navigator.clipboard && navigator.clipboard.writeText(url) }));
}

async function showAdmins() {
  const data = await api("GET", "/admins");
  const linkArea = el("div", { id: "link-area" });
  const act = async (label, method, path, body, after) => {
    try {
      const answer = await api(method, path, body);
      await showAdmins();
      notice(label);
      if (after) after(answer);
    } catch (e) { failure(e); }
  };
  const rows = data.admins.map((a) => {
    const self = a.id === state.me.id;
    const role = roleSelect(`role-${a.id}`, a.role);
    role.disabled = self;
    role.addEventListener("change", () => act(`${a.email} is now ${role.value}.`, "PUT", `/admins/${a.id}/role`, { role: role.value }));
    const buttons = self ? [el("span", { class: "muted", text: "you" })] : [
      a.status === "disabled"
        ? el("button", { class: "enable", text: "Enable", onclick: () => act(`${a.email} is enabled.`, "POST", `/admins/${a.id}/enable`, {}) })
        : el("button", { class: "disable danger", text: "Disable", onclick: async () => {
          if (await confirmDialog(`Disable ${a.email}? They are signed out everywhere at once and cannot sign in until enabled.`)) {
            await act(`${a.email} is disabled and signed out everywhere.`, "POST", `/admins/${a.id}/disable`, {});
          }
        } }),
      a.status === "disabled" ? null : ["password", "authenticator"].map((what) => el("button", { class: `reset-${what}`, text: `Reset ${what}`, onclick: async () => {
        if (!await confirmDialog(`Reset the ${what} of ${a.email}? Their current ${what} stops working now and they are signed out; the link you get sets a new one.`)) return;
        await act(`The ${what} of ${a.email} is reset.`, "POST", `/admins/${a.id}/reset`, { what },
          (answer) => document.getElementById("link-area").replaceChildren(setupLinkBox(a.email, answer.setup)));
      } })),
    ];
    return el("tr", { "data-email": a.email },
      el("td", { text: a.email }), el("td", {}, role),
      el("td", { class: `status ${a.status}`, text: STATUS[a.status] || a.status }),
      el("td", { text: a.last_login_at ? when(a.last_login_at) : "never" }),
      el("td", {}, buttons));
  });
  const email = el("input", { id: "invite-email", type: "email", placeholder: "name@bank.example" });
  const role = roleSelect("invite-role", "viewer");
  const invite = el("form", { class: "card row", id: "invite-form" },
    el("label", { for: "invite-email", text: "Invite" }), email, role,
    el("button", { class: "primary", type: "submit", text: "Invite" }));
  invite.addEventListener("submit", async (event) => {
    event.preventDefault();
    await act(`${email.value.trim()} is invited.`, "POST", "/admins", { email: email.value, role: role.value },
      (answer) => document.getElementById("link-area").replaceChildren(setupLinkBox(answer.admin.email, answer.setup)));
  });
  view().replaceChildren(el("h1", { text: "Admins" }), invite, linkArea,
    el("table", { id: "admins" }, el("tr", {}, ["Email", "Role", "Status", "Last sign-in", ""].map((h) => el("th", { text: h }))), rows));
}

// A QR code drawn from the server's rows of 1s and 0s, as SVG squares (nothing parsed as HTML).
function qrCode(rows) {
  const size = rows.length + 8;
  const svg = el("svg", { svg: true, id: "setup-qr", viewBox: `0 0 ${size} ${size}`, width: 220, height: 220, role: "img", "aria-label": "QR code for your authenticator app" },
    el("rect", { svg: true, width: size, height: size, fill: "#fff" }));
  rows.forEach((row, y) => [...row].forEach((dark, x) => {
    if (dark === "1") svg.append(el("rect", { svg: true, x: x + 4, y: y + 4, width: 1, height: 1, fill: "#000" }));
  }));
  return svg;
}

async function showSetup(token) {
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  let setup;
  try {
    setup = (await api("POST", "/setup", { token })).setup;
  } catch (e) {
    view().replaceChildren(el("div", { class: "card login" }, el("h1", { text: "Set up your account" }),
      el("p", { id: "setup-error", class: "error-text", text: (e.body && e.body.error) || "This link does not work." })));
    return;
  }
  const error = el("p", { id: "setup-error", class: "error-text" });
  const password = el("input", { id: "new-password", type: "password", autocomplete: "new-password", minlength: 12 });
  const code = el("input", { id: "setup-code", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}" });
  const form = el("form", { class: "card login", id: "setup-form" },
    el("h1", { text: setup.kind === "invite" ? "Welcome: set up your account" : "Set up your account again" }),
    el("p", { id: "setup-email", text: `For ${setup.email}. This link works until ${new Date(setup.expires_at).toLocaleString()}.` }),
    setup.needs_password ? [el("label", { for: "new-password", text: "Choose a password (at least 12 characters)" }), password] : null,
    setup.qr ? [
      el("p", { text: "Scan this with your authenticator app (Google Authenticator, Microsoft Authenticator, 1Password…):" }),
      qrCode(setup.qr),
      el("p", { class: "muted" }, "Or type this key in by hand: ", el("code", { id: "setup-secret", text: setup.secret.replace(/(.{4})/g, "$1 ").trim() })),
      el("label", { for: "setup-code", text: "The 6-digit code your app shows now" }), code,
    ] : null,
    el("p", {}, el("button", { id: "setup-done", class: "primary", type: "submit", text: "Finish" })),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await api("POST", "/setup/complete", { token, password: setup.needs_password ? password.value : undefined, code: code.value });
      state.flash = "Your account is ready: sign in with your email, password and a code.";
      location.hash = "#/login";
    } catch (e) {
      error.textContent = (e.body && e.body.error) || "That did not work.";
    }
  });
  view().replaceChildren(form);
}
