/* controls.js: wiring of the page's controls, the keyboard, the help overlay and toasts; then boot.

This file comes last: by now every module-level value of the other files is initialized. */

/* -- controls and keyboard -------------------------------------------------------------------- */

function wireControls() {
  byId("turn-list").addEventListener("click", (event) => {
    const row = event.target.closest("[data-turn]");
    if (!row) return;
    select(turnIndexOf(Number(row.dataset.turn)));
    showDetail(); // viewer.js: on a phone, the turn replaces the list
  });
  const refilter = () => {
    renderSidebar();
    markSearchRows();
  };
  byId("filter-text").addEventListener("input", (event) => {
    app.filters.text = event.target.value;
    refilter();
    clearTimeout(app.filterTimer);
    // Then mark the filter's words in the turn on screen, once typing pauses (search.js: markedQuery).
    app.filterTimer = setTimeout(() => search.query || renderDetail(), 150);
  });
  byId("filter-more").addEventListener("click", (event) => {
    const box = event.target.closest(".filters");
    box.classList.toggle("is-open");
    event.target.setAttribute("aria-expanded", box.classList.contains("is-open") ? "true" : "false");
  });
  byId("filter-model").addEventListener("change", (event) => {
    app.filters.model = event.target.value;
    refilter();
  });
  byId("filter-tool").addEventListener("change", (event) => {
    app.filters.tool = event.target.value;
    refilter();
  });
  byId("filter-errors").addEventListener("change", (event) => {
    app.filters.errors = event.target.checked;
    refilter();
  });
  byId("sort").addEventListener("change", (event) => {
    app.filters.sort = event.target.value;
    refilter();
  });
  const input = byId("search");
  input.addEventListener("input", () => {
    clearTimeout(search.timer);
    search.timer = setTimeout(() => setSearch(input.value), 250);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      clearTimeout(search.timer);
      searchStep(event.shiftKey ? -1 : 1);
    }
  });
  byId("search-next").addEventListener("click", () => searchStep(1));
  byId("search-prev").addEventListener("click", () => searchStep(-1));
  byId("theme-toggle").addEventListener("click", () => {
    const theme = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    applyTheme(theme);
    storageSet("theme", theme);
  });
  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
      if (!storageGet("theme")) applyTheme(systemTheme());
    });
  }
  byId("lang-toggle").addEventListener("click", () => {
    I18N.lang = I18N.lang === "zh" ? "en" : "zh";
    storageSet("lang", I18N.lang);
    applyLanguage();
    renderHeader();
    buildFilterOptions();
    renderSidebar();
    renderDetail(true);
    updateSearchCount();
  });
  byId("help-toggle").addEventListener("click", () => toggleHelp());
  byId("help").addEventListener("click", (event) => {
    if (event.target === byId("help") || event.target.closest(".close")) toggleHelp(false);
  });
  window.addEventListener("hashchange", followHash);
  document.addEventListener("keydown", onKey);
}

function onKey(event) {
  const target = event.target;
  const isTyping = target.closest && target.closest("input, textarea, select");
  if (event.key === "Escape") {
    if (!byId("help").hidden) return toggleHelp(false);
    if (isTyping) return target.blur();
    return;
  }
  if (isTyping || event.ctrlKey || event.metaKey || event.altKey) return;
  const actions = {
    j: () => step(1),
    ArrowDown: () => step(1),
    k: () => step(-1),
    ArrowUp: () => step(-1),
    ArrowRight: () => setTab(TABS[(TABS.indexOf(app.tab) + 1) % TABS.length]),
    ArrowLeft: () => setTab(TABS[(TABS.indexOf(app.tab) + TABS.length - 1) % TABS.length]),
    "/": () => byId("search").focus(),
    "?": () => toggleHelp(),
    n: () => searchStep(1),
    N: () => searchStep(-1),
  };
  let action = actions[event.key];
  if (!action && /^[1-8]$/.test(event.key)) action = () => setTab(TABS[Number(event.key) - 1]);
  if (!action) return;
  event.preventDefault();
  action();
}

function toggleHelp(show) {
  const help = byId("help");
  help.hidden = show === undefined ? !help.hidden : !show;
}

function renderHelp() {
  const keys = [
    ["j / ↓", "help.next"],
    ["k / ↑", "help.prev"],
    ["← / →", "help.tabs"],
    ["1 … 8", "help.tabN"],
    ["/", "help.search"],
    ["Enter / n", "help.searchNext"],
    ["Shift+Enter / N", "help.searchPrev"],
    ["?", "help.help"],
    ["Esc", "help.close"],
  ];
  const table = h(
    "table",
    { class: "keys" },
    keys.map(([key, label]) =>
      h("tr", null, h("td", null, h("kbd", { text: key })), h("td", { text: t(label) })),
    ),
  );
  clear(byId("help-body")).append(table, h("p", { class: "muted small", text: t("help.links") }));
}

function toast(message) {
  const el = byId("toast");
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 1800);
}

/* Hooks for tests and for people poking at a trace from the console. */
window.claudeTap = {
  store,
  turnAt,
  curlFor,
  diffLines,
  diffWords,
  editScript,
  isProbeMiss,
  renderMarkdown,
  select,
  setTab,
  app,
};

boot();
