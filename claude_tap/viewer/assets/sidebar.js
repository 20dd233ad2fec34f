/* sidebar.js: the session header and the turn list (one light row per turn), with its filters
and orderings. Rows carry data-turn="<n>", the number the row shows as "#n" (util.js: turnNumber); a click on
one selects that turn (controls.js). */

/* -- header ----------------------------------------------------------------------------------- */

function renderHeader() {
  const info = store.info || {};
  let tokens = 0;
  let errors = 0;
  for (const index of store.order) {
    const rec = store.recs[index];
    tokens += rec.usage ? rec.usage.total_tokens || 0 : 0;
    if (store.derived[index].isError) errors++;
  }
  byId("session-title").textContent = [
    info.client || t("session.unknownClient"),
    info.mode,
    fmtDateTime(info.started_at),
  ]
    .filter(Boolean)
    .join(" · ");
  byId("session-title").title = [
    info.target,
    info.claude_tap_version ? "claude-tap " + info.claude_tap_version : "",
    info.source_format,
  ]
    .filter(Boolean)
    .join(" · ");
  appendAll(clear(byId("session-summary")), [
    h("span", { text: plural(store.order.length, "n.turn", "n.turns") }),
    h("span", { text: fmtTokens(tokens) + " " + t("usage.tokensShort") }),
    h("span", {
      text: fmtCostTotal(
        store.order.map((index) => store.recs[index]),
        true,
      ),
    }),
    errors ? h("span", { class: "err-text", text: plural(errors, "n.error", "n.errors") }) : null,
  ]);
}

/* -- sidebar ---------------------------------------------------------------------------------- */

function buildFilterOptions() {
  const models = new Map();
  const tools = new Map();
  for (const index of store.order) {
    const facts = store.derived[index];
    models.set(facts.model, (models.get(facts.model) || 0) + 1);
    for (const tool of facts.toolsUsed) tools.set(tool, (tools.get(tool) || 0) + 1);
  }
  fillSelect(
    byId("filter-model"),
    t("filter.allModels"),
    models,
    app.filters.model,
    (name) => name || t("turn.noModel"),
  );
  fillSelect(byId("filter-tool"), t("filter.allTools"), tools, app.filters.tool, (name) => name);
}

function fillSelect(select, allLabel, counts, current, label) {
  const options = [h("option", { value: "", text: allLabel })];
  for (const [name, count] of [...counts.entries()].sort((a, b) => b[1] - a[1])) {
    options.push(
      h("option", { value: name, text: label(name) + " (" + count + ")", selected: name === current }),
    );
  }
  select.replaceChildren(...options);
  select.value = current;
}

/* "Filter turns" and "Search all turns" match the same way (search.js: turnMatches, every message,
tool and recorded text of the turn), so a turn the search finds is never filtered out by the same words. */
function filteredTurns() {
  const f = app.filters;
  const text = f.text.trim().toLowerCase();
  return store.order.filter((index) => {
    const facts = store.derived[index];
    if (f.errors && !facts.isError) return false;
    if (f.model && facts.model !== f.model) return false;
    if (f.tool && !facts.toolsUsed.includes(f.tool)) return false;
    if (f.thread && store.recs[index].thread !== f.thread) return false;
    return !text || turnLabel(index).toLowerCase().includes(text) || turnMatches(index, text);
  });
}

/* Sidebar items: turn indexes, with {group, count} headers when ordered by model or prompt. */
function sidebarItems(turns) {
  if (app.filters.sort === "time") return turns.slice().sort((a, b) => startOf(a) - startOf(b) || a - b);
  const key = app.filters.sort === "model" ? (i) => store.derived[i].model : (i) => store.derived[i].prompt;
  const groups = new Map();
  for (const index of turns) {
    const k = key(index);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(index);
  }
  const items = [];
  for (const [name, members] of groups) items.push({ group: name, count: members.length }, ...members);
  return items;
}

function startOf(index) {
  const started = store.recs[index].timing && store.recs[index].timing.started_at;
  const ms = started ? Date.parse(started) : NaN;
  return isNaN(ms) ? index : ms;
}

function renderSidebar() {
  const list = byId("turn-list");
  const scroll = list.scrollTop;
  const turns = filteredTurns();
  const items = sidebarItems(turns);
  const rows = document.createDocumentFragment();
  for (const item of items) rows.append(typeof item === "number" ? turnRow(item) : groupRow(item));
  if (!items.length)
    rows.append(
      h("div", { class: "list-empty", text: store.order.length ? t("filter.nothing") : t("turn.none") }),
    );
  list.replaceChildren(rows);
  list.scrollTop = scroll;
  app.visible = items.filter((item) => typeof item === "number");
  byId("filter-count").textContent = app.filters.text.trim()
    ? t("filter.matches", { shown: turns.length, total: store.order.length })
    : t("filter.count", { shown: turns.length, total: store.order.length });
}

function groupRow(item) {
  const label = item.group || (app.filters.sort === "model" ? t("turn.noModel") : t("group.noPrompt"));
  return h(
    "div",
    { class: "group-row", title: label },
    h("span", { class: "group-label", text: clip(label, 160) }),
    h("span", { class: "group-count", text: String(item.count) }),
  );
}

function turnRow(index) {
  const rec = store.recs[index];
  const facts = store.derived[index];
  const timing = rec.timing || {};
  const classes = ["row"];
  if (facts.isError) classes.push("is-error");
  if (index === app.selected) classes.push("selected");
  if (search.query && search.matches.includes(index)) classes.push("hit");
  if (facts.largestResult >= OVERSIZED_RESULT_BYTES) classes.push("is-oversized");
  const tools = facts.toolsUsed.slice(0, 2).map((name) => h("span", { class: "row-tool", text: name }));
  if (facts.toolsUsed.length > 2)
    tools.push(h("span", { class: "row-tool", text: "+" + (facts.toolsUsed.length - 2) }));
  const numbers = [];
  if (facts.tokens !== null)
    numbers.push(
      h("span", {
        title: t("usage.tokensLabel"),
        text: fmtTokens(facts.tokens) + " " + t("usage.tokensShort"),
      }),
    );
  if (typeof rec.cost_usd === "number")
    numbers.push(h("span", { title: t("usage.cost"), text: fmtCost(rec.cost_usd) }));
  if (typeof timing.ttft_ms === "number")
    numbers.push(
      h("span", { class: "row-ttft", title: t("row.ttft"), text: "TTFT " + fmtMs(timing.ttft_ms) }),
    );
  if (facts.newCount && rec.prev !== null && rec.prev !== undefined)
    numbers.unshift(h("span", { class: "row-new", title: t("row.newTitle"), text: "+" + facts.newCount }));
  if (facts.largestResult >= OVERSIZED_RESULT_BYTES)
    numbers.unshift(
      h("span", {
        class: "row-oversized",
        title: t("row.oversizedTitle", { size: fmtBytes(facts.largestResult) }),
        text: t("row.oversized") + " " + fmtBytes(facts.largestResult),
      }),
    );
  const snippet = facts.snippet || rec.path || rec.url || "";
  return h(
    "div",
    {
      class: classes.join(" "),
      dataset: { turn: String(turnNumber(index)) },
      role: "option",
      "aria-selected": index === app.selected ? "true" : "false",
      title: facts.prompt || null,
    },
    h(
      "div",
      { class: "row-1" },
      h("span", { class: "row-num", text: turnLabel(index) }),
      h("span", {
        class: "row-model",
        title: rec.model || null,
        text: rec.model ? shortModel(rec.model) : apiLabel(rec.api),
      }),
      facts.isError ? h("span", { class: "row-err", title: rec.error || t("error.title"), text: "!" }) : null,
      rec.thread && rec.thread !== "main" && threads.list.length > 1
        ? h("span", { class: "row-thread kind-" + rec.thread.replace(/-\d+$/, ""), text: rec.thread })
        : null,
      h("span", { class: "row-clock", title: fmtDateTime(timing.started_at), text: fmtClock(timing.started_at) }),
      h("span", { class: "row-dur", text: fmtMs(timing.duration_ms) }),
    ),
    h("div", { class: "row-2" }, numbers, tools, cacheMark(index)), // cacheMark: threads.js
    snippet ? h("div", { class: "row-3", text: snippet }) : null,
  );
}

/* The sidebar is narrow: "claude-sonnet-4-5-20250929" shows as "claude-sonnet-4-5" (full name on hover). */
function shortModel(model) {
  return model.replace(/-20\d{6}$/, "");
}

function apiLabel(api) {
  return t("api." + api);
}

function markSearchRows() {
  const hits = new Set(search.matches);
  for (const row of byId("turn-list").querySelectorAll(".row"))
    row.classList.toggle("hit", hits.has(turnIndexOf(Number(row.dataset.turn))));
}
