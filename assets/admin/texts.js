// A draft's texts for people who do not write YAML: every customer-facing text by flow and
// step, each language side by side, WhatsApp's limit counted as you type, the compiler's
// findings and a preview with made-up values as you pause, saved into the draft as an edit of
// its file. Loaded beside app.js, whose helpers (el, api, view, notice, failure, can) it uses.
"use strict";

const LANGUAGE_NAMES = { en: "English", pcm: "Pidgin", yo: "Yorùbá", ha: "Hausa", ig: "Igbo", any: "Every language" };

// WhatsApp counts UTF-16 code units, as JavaScript's length does.
function countLabel(text, limit) {
  return `${text.length} / ${limit}`;
}

function textEntry(id, entry, languages, draft) {
  const editable = can("edit_drafts") && draft.editable;
  // A text written once for every language (a name, a number) is one column.
  const written = Object.keys(entry.texts);
  const shownLanguages = written.length === 1 && written[0] === "any" ? ["any"] : languages;
  const columns = shownLanguages.map((language) => {
    const written = entry.texts[language] ?? entry.texts.any;
    const box = el("textarea", { class: "text-input", "data-lang": language, rows: Math.min(8, Math.max(2, Math.ceil((written || "").length / 60))), readonly: !editable });
    box.value = written ?? "";
    const count = el("span", { class: "count" });
    const missing = el("span", { class: "tag warn missing", text: "missing translation", hidden: written !== undefined });
    const problems = el("ul", { class: "problems" });
    const preview = el("div", { class: "bubble preview", hidden: true });
    const save = el("button", { class: "save-text primary", text: "Save", hidden: true });
    let timer = null;
    let saved = box.value;
    const recount = () => {
      count.textContent = countLabel(box.value, entry.limit);
      const over = box.value.length > entry.limit;
      count.className = over ? "count over" : "count";
      count.title = over ? `WhatsApp takes at most ${entry.limit} characters in a ${entry.shown_as}` : "";
      missing.hidden = box.value.trim() !== "";
      save.hidden = !editable || box.value === saved;
    };
    const tryIt = async () => {
      if (!box.value.trim()) { problems.replaceChildren(); preview.hidden = true; return; }
      try {
        const { trial } = await api("POST", `/drafts/${id}/texts/try`, { file: entry.file, at: entry.at, language, text: box.value });
        problems.replaceChildren(...trial.problems.map((p) => el("li", { class: "error-text", text: p })));
        if (trial.length > trial.limit) problems.append(el("li", { class: "error-text", text: `Too long for a ${entry.shown_as}: ${trial.length} characters, WhatsApp takes ${trial.limit}.` }));
        preview.replaceChildren(el("span", { class: "muted", text: "Preview: " }), el("span", { class: "preview-text", text: trial.preview }));
        preview.hidden = false;
      } catch (e) {
        problems.replaceChildren(el("li", { class: "error-text", text: (e.body && e.body.error) || "Cannot check this text now." }));
      }
    };
    box.addEventListener("input", () => { recount(); clearTimeout(timer); timer = setTimeout(tryIt, 250); });
    box.addEventListener("focus", () => { if (preview.hidden) tryIt(); });
    save.addEventListener("click", async () => {
      try {
        const answer = await api("PUT", `/drafts/${id}/texts`, { revision: draft.revision, file: entry.file, at: entry.at, language, text: box.value });
        draft.revision = answer.revision;
        saved = box.value;
        recount();
        const errors = answer.diagnostics.filter((d) => d.severity === "error").length;
        notice(errors ? `Saved, but the draft has ${errors} error${errors > 1 ? "s" : ""}: it cannot be published until they are fixed.` : `Saved ${LANGUAGE_NAMES[language] || language} text of ${entry.step}.`, errors > 0);
      } catch (e) { failure(e); }
    });
    recount();
    return el("div", { class: "text-language", "data-lang": language },
      el("div", { class: "row" }, el("strong", { text: LANGUAGE_NAMES[language] || language }), count, missing),
      box, problems, preview, save);
  });
  return el("div", { class: "card text-entry", "data-file": entry.file, "data-at": entry.at },
    el("div", { class: "row" },
      el("strong", { text: `${entry.file.replace(/\.yaml$/, "")} › ${entry.step}` }),
      el("span", { class: "tag", text: entry.shown_as }),
      el("span", { class: "muted", text: `line ${entry.line} · at most ${entry.limit} characters` })),
    el("div", { class: "text-languages" }, columns));
}

async function showTexts(id) {
  const [data, draft] = await Promise.all([api("GET", `/drafts/${id}/texts`), api("GET", `/drafts/${id}`)]);
  const draftState = { revision: data.revision, editable: draft.state === "open" };
  const files = [...new Set(data.texts.map((t) => t.file))];
  const pick = el("select", { id: "texts-file" }, el("option", { value: "", text: "Every flow" }),
    files.map((f) => el("option", { value: f, text: f === "phrases.yaml" ? "The engine's own words" : f.replace(/\.yaml$/, "") })));
  const search = el("input", { id: "texts-search", placeholder: "Find a text…", type: "search" });
  const list = el("div", { id: "texts" });
  const render = () => {
    const needle = search.value.trim().toLowerCase();
    const shown = data.texts.filter((t) => (!pick.value || t.file === pick.value)
      && (!needle || Object.values(t.texts).some((v) => v.toLowerCase().includes(needle)) || t.step.includes(needle)));
    const missing = shown.filter((t) => data.languages.some((l) => t.texts[l] === undefined && t.texts.any === undefined)).length;
    list.replaceChildren(
      el("p", { id: "texts-summary", class: missing ? "error-text" : "muted",
        text: `${shown.length} text${shown.length === 1 ? "" : "s"}${missing ? `, ${missing} missing a translation` : ", every one in every language"}.` }),
      el("p", { id: "texts-review", class: "muted", hidden: !(data.unreviewed || []).length,
        text: `Not yet reviewed by a native speaker: ${(data.unreviewed || []).join(", ")}. Read and correct them here before launch.` }),
      ...shown.map((t) => textEntry(id, t, data.languages, draftState)));
  };
  pick.addEventListener("change", render);
  search.addEventListener("input", render);
  view().replaceChildren(
    el("h1", {}, `Texts of draft ${id}: ${draft.title}`),
    el("p", {}, el("a", { id: "back-to-draft", href: `#/drafts/${id}`, text: "← Back to the draft (diff, check, publish)" })),
    el("div", { class: "row card" }, pick, search),
    list);
  render();
}
