/* viewer.js: the page's state, boot, selection, the detail panel and its tabs, deep links, live
updates, theme and language.

Boot decodes the payload, builds the sidebar (sidebar.js) and shows one turn; only then is
<body data-ready="true">. Deep links: #turn=<n>&tab=<tab>[&vs=<n>], n being the number the page shows
("Turn n", data-turn on its sidebar row); internally a turn is its 0-based index (util.js: turnNumber). */

const app = {
  selected: null,
  tab: "overview",
  markdown: storageGet("markdown") !== "0",
  filters: { text: "", model: "", tool: "", errors: false, sort: "time", thread: "" },
  filterTimer: 0,
  visible: [],
  diffTargets: new Map(), // turn index -> the turn picked by hand to diff against
  rawView: "request",
  pricesAsOf: "", // the date of the price table costs come from (normalize/prices.json)
};

function byId(id) {
  return document.getElementById(id);
}

async function boot() {
  const config = JSON.parse(byId("tap-config").textContent);
  I18N.strings = JSON.parse(byId("tap-i18n").textContent);
  I18N.lang = pickLanguage(config.lang);
  app.pricesAsOf = config.prices_as_of || "";
  applyTheme(storageGet("theme") || systemTheme());
  applyLanguage();
  wireControls();
  try {
    const encoded = byId("tap-payload").textContent.trim();
    performance.mark("boot");
    const payload = encoded ? await decodePayload(encoded) : null;
    performance.mark("decoded");
    if (payload) loadPayload(payload);
    performance.mark("loaded");
  } catch (err) {
    document.body.dataset.ready = "error";
    clear(byId("detail")).append(h("div", { class: "error-box", text: t("boot.failed") + " " + err }));
    return;
  }
  renderHeader();
  buildFilterOptions();
  renderThreadTree();
  renderSidebar();
  performance.mark("sidebar");
  const route = readHash();
  const first =
    route.turn !== null && store.recs[route.turn] ? route.turn : app.visible.length ? app.visible[0] : null;
  if (route.vs !== null && first !== null) app.diffTargets.set(first, route.vs);
  if (first !== null) select(first, route.tab);
  else renderDetail();
  if (route.turn !== null && first === route.turn) showDetail(); // a link to a turn opens it, phone or not
  document.body.dataset.readyMs = String(Math.round(performance.now())); // for benchmarks: since navigation start
  document.body.dataset.ready = "true";
  if (config.live && config.live.events_url) startLive(config.live.events_url);
}

/* -- theme and language ----------------------------------------------------------------------- */

function systemTheme() {
  return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
}

function pickLanguage(fromConfig) {
  const wanted = storageGet("lang") || fromConfig || navigator.language || "en";
  return /^zh/i.test(wanted) ? "zh" : "en";
}

function applyLanguage() {
  document.documentElement.lang = I18N.lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]"))
    el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of document.querySelectorAll("[data-i18n-title]")) {
    el.title = t(el.dataset.i18nTitle);
    el.setAttribute("aria-label", el.title);
  }
  byId("lang-toggle").textContent = I18N.lang === "zh" ? "EN" : "中文";
  renderHelp();
}

/* -- selection and detail --------------------------------------------------------------------- */

function select(index, tab) {
  if (!store.recs[index]) return;
  if (tab && TABS.includes(tab)) app.tab = tab;
  const list = byId("turn-list");
  const old = list.querySelector(".row.selected");
  if (old) {
    old.classList.remove("selected");
    old.setAttribute("aria-selected", "false");
  }
  app.selected = index;
  const row = list.querySelector('[data-turn="' + turnNumber(index) + '"]');
  if (row) {
    row.classList.add("selected");
    row.setAttribute("aria-selected", "true");
    row.scrollIntoView({ block: "nearest" });
  }
  renderDetail();
  writeHash();
}

/* -- phone width: the list or one turn ------------------------------------------------------- */

const PHONE_QUERY = "(max-width: 640px)"; // viewer.css has the same width

function isPhone() {
  return Boolean(window.matchMedia && window.matchMedia(PHONE_QUERY).matches);
}

/* On a phone the page shows the turn list or one turn, never both: a tap on a row opens the turn. */
function showDetail() {
  if (!isPhone()) return;
  document.body.classList.add("show-detail");
  window.scrollTo(0, 0);
}

function showList() {
  document.body.classList.remove("show-detail");
  const row = byId("turn-list").querySelector(".row.selected");
  if (row) row.scrollIntoView({ block: "nearest" });
}

function openTurn(index, tab, then) {
  select(index, tab);
  if (then) then();
}

function renderDetail(keepScroll) {
  const detail = byId("detail");
  const oldPanel = detail.querySelector(".panel");
  const scroll = keepScroll && oldPanel ? oldPanel.scrollTop : 0;
  if (app.selected === null || !store.recs[app.selected]) {
    clear(detail).append(
      h("div", { class: "empty-state", text: store.order.length ? t("detail.pick") : t("turn.none") }),
    );
    return;
  }
  const turn = turnAt(app.selected);
  const panel = h("div", { class: "panel", role: "tabpanel", tabindex: "-1" });
  detail.replaceChildren(detailHead(turn), tabBar(turn), panel);
  fillPanel(panel, turn);
  panel.scrollTop = scroll;
  if (!keepScroll && !search.query && search.marks.length) {
    // Filtering: show where the filter's words are in the turn just opened.
    revealMark(search.marks[0]);
    search.marks[0].scrollIntoView({ block: "center" });
  }
}

function fillPanel(panel, turn) {
  const ctx = blockContext(turn, { markdown: app.markdown, full: Boolean(markedQuery()) }); // search.js
  panel.replaceChildren(renderTab(app.tab, turn, ctx));
  panel.dataset.tab = app.tab;
  highlightMatches(panel);
}

function detailHead(turn) {
  const timing = turn.timing || {};
  const statusClass =
    turn.status === null || turn.status === undefined ? "" : turn.status >= 400 ? " chip-err" : " chip-ok";
  const actions = h(
    "div",
    { class: "actions" },
    h("button", {
      class: "btn",
      id: "copy-json",
      text: t("detail.copyJson"),
      onclick: () => copyText(prettyJson(turnAt(turn.index)), t("toast.copiedJson")),
    }),
    h("button", {
      class: "btn",
      id: "copy-curl",
      text: t("detail.copyCurl"),
      disabled: !turn.url || turn.transport === "transcript",
      onclick: () => copyText(curlFor(turnAt(turn.index)), t("toast.copiedCurl")),
    }),
    h("button", {
      class: "btn icon",
      title: t("detail.prevTurn"),
      "aria-label": t("detail.prevTurn"),
      text: "‹",
      onclick: () => step(-1),
    }),
    h("button", {
      class: "btn icon",
      title: t("detail.nextTurn"),
      "aria-label": t("detail.nextTurn"),
      text: "›",
      onclick: () => step(1),
    }),
  );
  const chips = [
    h("span", { class: "chip chip-model", text: turn.model || t("turn.noModel") }),
    h("span", { class: "chip", text: apiLabel(turn.api) }),
  ];
  // "sse" promises an Events tab with something in it; without events it says nothing true.
  if (turn.transport !== "sse" || turn.events.length) chips.push(h("span", { class: "chip", text: turn.transport }));
  if (turn.status !== null && turn.status !== undefined)
    chips.push(h("span", { class: "chip" + statusClass, text: String(turn.status) }));
  if (turn.complete === false) chips.push(h("span", { class: "chip chip-err", text: t("turn.incomplete") }));
  const meta = [
    h("span", {
      class: "mono url",
      text: (turn.method || "") + " " + (turn.url || turn.path || ""),
      title: turn.url || "",
    }),
    h("span", { text: fmtDateTime(timing.started_at) }),
  ];
  if (turn.prev !== null && turn.prev !== undefined) {
    meta.push(
      h("button", {
        class: "link-btn",
        text:
          t("detail.prev", { turn: turnLabel(turn.prev) }) +
          (turn.prev_is_guess ? " (" + t("diff.guessShort") + ")" : ""),
        onclick: () => select(turn.prev),
      }),
    );
  }
  return h(
    "div",
    { class: "detail-head" },
    h(
      "div",
      { class: "title-row" },
      h("button", { class: "btn back-btn", text: "← " + t("detail.back"), onclick: () => showList() }),
      h("h2", { text: t("turn.title", { n: turnNumber(turn.index) }) }),
      h("div", { class: "chips" }, chips),
      actions,
    ),
    h("div", { class: "meta-row" }, meta),
  );
}

function tabBar(turn) {
  const bar = h("nav", { class: "tabs", role: "tablist" });
  for (const name of TABS) {
    const count = tabCount(name, turn);
    bar.append(
      h(
        "button",
        {
          class: "tab" + (name === app.tab ? " active" : ""),
          role: "tab",
          "aria-selected": name === app.tab ? "true" : "false",
          dataset: { tab: name },
          onclick: () => setTab(name),
        },
        t("tab." + name),
        count ? h("span", { class: "tab-count", text: String(count) }) : null,
      ),
    );
  }
  return bar;
}

function setTab(name) {
  if (!TABS.includes(name) || app.selected === null) return;
  app.tab = name;
  for (const button of document.querySelectorAll("#detail .tab")) {
    const isActive = button.dataset.tab === name;
    button.classList.toggle("active", isActive);
    button.setAttribute("aria-selected", isActive ? "true" : "false");
  }
  const panel = document.querySelector("#detail .panel");
  fillPanel(panel, turnAt(app.selected));
  panel.scrollTop = 0;
  writeHash();
}

function step(direction) {
  const list = app.visible;
  if (!list.length) return;
  const at = list.indexOf(app.selected);
  const next =
    at < 0 ? (direction > 0 ? 0 : list.length - 1) : Math.max(0, Math.min(list.length - 1, at + direction));
  if (list[next] !== app.selected) select(list[next]);
}

function setMarkdown(on) {
  app.markdown = on;
  storageSet("markdown", on ? "1" : "0");
  renderDetail(true);
}

function diffTargetFor(turn) {
  if (app.diffTargets.has(turn.index)) return app.diffTargets.get(turn.index);
  return turn.prev === undefined ? null : turn.prev;
}

function setDiffTarget(turnIndex, other) {
  app.diffTargets.set(turnIndex, other);
  renderDetail();
  writeHash();
}

/* -- live updates ----------------------------------------------------------------------------- */

function afterNewTurns(touchesSelected) {
  renderHeader();
  buildFilterOptions();
  refreshSearch();
  renderSidebar();
  if (app.selected === null && app.visible.length) select(app.visible[0]);
  else if (touchesSelected) renderDetail(true);
}

/* -- deep links ------------------------------------------------------------------------------- */

/* The route in the address, with turns as indexes: {turn, tab, vs}, null where absent or not a turn. */
function readHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const index = (name) =>
    /^\d+$/.test(params.get(name) || "") ? turnIndexOf(Number(params.get(name))) : null;
  return { turn: index("turn"), tab: params.get("tab"), vs: index("vs") };
}

function writeHash() {
  if (app.selected === null) return;
  let hash = "#turn=" + turnNumber(app.selected) + "&tab=" + app.tab;
  const vs = app.diffTargets.get(app.selected);
  if (app.tab === "diff" && vs !== undefined && vs !== null) hash += "&vs=" + turnNumber(vs);
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

function followHash() {
  const route = readHash();
  if (route.vs !== null && route.turn !== null) app.diffTargets.set(route.turn, route.vs);
  if (route.turn !== null && store.recs[route.turn]) select(route.turn, route.tab);
  else if (route.tab) setTab(route.tab);
}
