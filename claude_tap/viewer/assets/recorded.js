/* recorded.js: the tabs that show a turn as it was recorded and measured: Events (raw SSE and
WebSocket events with their offsets and a small timeline), Headers, Usage (tokens, cost, timing)
and Raw (the bodies and the normalized turn as JSON). */

const EVENT_ROWS = 800; // rows shown before "show more": a long stream stays quick to open

/* -- events ----------------------------------------------------------------------------------- */

function tabEvents(turn) {
  const events = turn.events || [];
  if (!events.length) return h("div", { class: "empty-tab", text: t("events.none") });
  const root = h("div", { class: "events" });
  root.append(timeline(turn, events));
  const table = h("table", { class: "grid events-table" });
  table.append(
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", { class: "num", text: t("events.offset") }),
        h("th", { class: "num", text: "Δ" }),
        h("th", { text: t("events.event") }),
        h("th", { text: t("events.data") }),
      ),
    ),
  );
  const body = h("tbody");
  const addRows = (from, to) => {
    for (let n = from; n < to; n++) body.append(eventRow(events[n], n ? events[n - 1].offset_ms : 0));
  };
  addRows(0, Math.min(events.length, EVENT_ROWS));
  table.append(body);
  root.append(table);
  if (events.length > EVENT_ROWS) {
    const more = h("button", {
      class: "btn wide",
      text: t("events.more", { n: fmtInt(events.length - EVENT_ROWS) }),
    });
    more.addEventListener("click", () => {
      addRows(EVENT_ROWS, events.length);
      more.remove();
    });
    root.append(more);
  }
  return root;
}

function eventRow(event, previousOffset) {
  const name = event.direction
    ? (event.direction === "client" ? "↑ " : "↓ ") + (event.event || event.direction)
    : event.event || "message";
  const data = String(event.data);
  const cell = h("td", { class: "ev-data" }, h("code", { text: clip(data, 240) }));
  if (data.length > 240 || data.startsWith("{")) {
    cell.classList.add("expandable");
    cell.addEventListener("click", () => {
      if (cell.dataset.open) return;
      cell.dataset.open = "1";
      let pretty = data;
      try {
        pretty = JSON.stringify(JSON.parse(data), null, 2);
      } catch (err) {
        /* not JSON: as is */
      }
      cell.replaceChildren(h("pre", { class: "code", text: pretty }));
    });
  }
  return h(
    "tr",
    { class: event.direction === "client" ? "ev-client" : null },
    h("td", { class: "num mono", text: event.offset_ms.toFixed(1) }),
    h("td", {
      class: "num mono muted",
      text: "+" + Math.max(0, event.offset_ms - previousOffset).toFixed(1),
    }),
    h("td", { class: "mono ev-name", text: name }),
    cell,
  );
}

/* A strip from request start to the last event: event density in bins, plus TTFB and TTFT marks. */
function timeline(turn, events) {
  const timing = turn.timing || {};
  const end = Math.max(timing.duration_ms || 0, events[events.length - 1].offset_ms, 1);
  const bins = new Array(120).fill(0);
  for (const event of events)
    bins[Math.min(bins.length - 1, Math.floor((event.offset_ms / end) * bins.length))]++;
  const peak = Math.max(...bins);
  const strip = h("div", { class: "timeline", title: t("events.timeline") });
  bins.forEach((count, n) => {
    if (!count) return;
    const bar = h("span", { class: "tl-bar" });
    bar.style.left = (n / bins.length) * 100 + "%";
    bar.style.width = 100 / bins.length + "%";
    bar.style.height = 20 + (80 * count) / peak + "%";
    strip.append(bar);
  });
  const mark = (ms, label, cls) => {
    if (ms === null || ms === undefined) return;
    const el = h(
      "span",
      { class: "tl-mark " + cls, title: label + " " + fmtMs(ms) },
      h("span", { text: label }),
    );
    el.style.left = Math.min(100, (ms / end) * 100) + "%";
    strip.append(el);
  };
  mark(timing.ttfb_ms, "TTFB", "ttfb");
  mark(timing.ttft_ms, "TTFT", "ttft");
  return h(
    "div",
    { class: "timeline-wrap" },
    strip,
    h(
      "div",
      { class: "tl-axis" },
      h("span", { text: "0" }),
      h("span", { text: plural(events.length, "n.event", "n.events") }),
      h("span", { text: fmtMs(end) }),
    ),
  );
}

/* -- headers ---------------------------------------------------------------------------------- */

function tabHeaders(turn) {
  const root = h("div", { class: "headers" });
  root.append(
    h(
      "div",
      { class: "url-line mono" },
      h("span", { class: "method", text: turn.method }),
      " ",
      h("span", { text: turn.url || turn.path || "—" }),
    ),
  );
  root.append(
    headerTable(t("headers.request"), turn.request_headers),
    headerTable(t("headers.response"), turn.response_headers),
  );
  return root;
}

function headerTable(title, headers) {
  const names = Object.keys(headers || {});
  const section = h(
    "section",
    null,
    h("h3", { class: "section-title", text: title + " (" + names.length + ")" }),
  );
  if (!names.length) return appendAll(section, [h("div", { class: "muted", text: t("headers.none") })]);
  const body = h("tbody");
  for (const name of names) {
    const value = String(headers[name]);
    body.append(
      h(
        "tr",
        null,
        h("th", { class: "mono", text: name }),
        h("td", { class: "mono" + (/\[REDACTED:[0-9a-f]{8}\]/.test(value) ? " redacted" : ""), text: value }),
      ),
    );
  }
  section.append(h("table", { class: "grid headers-table" }, body));
  return section;
}

/* -- usage ------------------------------------------------------------------------------------ */

const USAGE_PARTS = [
  ["input_tokens", "usage.input", "u-input"],
  ["cache_read_tokens", "usage.cacheRead", "u-read"],
  ["cache_write_tokens", "usage.cacheWrite", "u-write"],
  ["output_tokens", "usage.output", "u-output"],
];

function tabUsage(turn) {
  const root = h("div", { class: "usage" });
  const usage = turn.usage;
  if (!usage) root.append(h("div", { class: "note", text: t("usage.none") }));
  else {
    const total = usage.total_tokens || USAGE_PARTS.reduce((sum, [key]) => sum + (usage[key] || 0), 0);
    const bar = h("div", { class: "token-bar", role: "img", "aria-label": t("usage.bar") });
    const legend = h("table", { class: "grid legend" });
    for (const [key, label, cls] of USAGE_PARTS) {
      const value = usage[key] || 0;
      const share = total ? value / total : 0;
      if (value) {
        const part = h("span", { class: "tb-part " + cls, title: t(label) + ": " + fmtInt(value) });
        part.style.flexGrow = String(value);
        bar.append(part);
      }
      legend.append(
        h(
          "tr",
          null,
          h("td", null, h("span", { class: "swatch " + cls })),
          h("th", { text: t(label) }),
          h("td", { class: "num mono", text: fmtInt(value) }),
          h("td", { class: "num mono muted", text: (share * 100).toFixed(1) + "%" }),
        ),
      );
    }
    legend.append(
      h(
        "tr",
        { class: "total" },
        h("td"),
        h("th", { text: t("usage.total") }),
        h("td", { class: "num mono", text: fmtInt(total) }),
        h("td", { class: "num mono", text: fmtCost(turn.cost_usd) }),
      ),
    );
    root.append(
      h(
        "div",
        { class: "usage-head" },
        h("span", { class: "big", text: fmtTokens(total) }),
        h("span", { class: "muted", text: t("usage.tokens") }),
        h("span", {
          class: "big cost",
          text:
            turn.cost_usd === null || turn.cost_usd === undefined
              ? t("usage.noPrice")
              : fmtCost(turn.cost_usd),
        }),
        app.pricesAsOf
          ? h("span", { class: "muted prices-as-of", text: t("usage.pricesAsOf", { date: app.pricesAsOf }) })
          : null,
      ),
    );
    root.append(bar, legend);
    const prompt =
      (usage.input_tokens || 0) + (usage.cache_read_tokens || 0) + (usage.cache_write_tokens || 0);
    const facts = [
      [t("usage.hitRate"), prompt ? (((usage.cache_read_tokens || 0) / prompt) * 100).toFixed(1) + "%" : "—"],
    ];
    if (usage.reasoning_tokens) facts.push([t("usage.reasoning"), fmtInt(usage.reasoning_tokens)]);
    root.append(keyValues(facts));
  }
  const timing = turn.timing || {};
  root.append(h("h3", { class: "section-title", text: t("usage.timing") }));
  root.append(
    keyValues([
      [t("usage.started"), fmtDateTime(timing.started_at)],
      ["TTFB", fmtMs(timing.ttfb_ms)],
      ["TTFT", fmtMs(timing.ttft_ms)],
      [t("usage.duration"), fmtMs(timing.duration_ms)],
      [t("usage.speed"), timing.tokens_per_s ? timing.tokens_per_s.toFixed(1) + " tok/s" : "—"],
    ]),
  );
  root.append(sessionTotals(turn.index));
  return root;
}

function sessionTotals(uptoIndex) {
  const upto = store.order.filter((index) => index <= uptoIndex).map((index) => store.recs[index]);
  const tokens = upto.reduce((sum, rec) => sum + (rec.usage ? rec.usage.total_tokens || 0 : 0), 0);
  const costText = fmtCostTotal(upto);
  return h(
    "div",
    null,
    h("h3", { class: "section-title", text: t("usage.sessionSoFar") }),
    keyValues([
      [t("usage.tokensLabel"), fmtInt(tokens)],
      [t("usage.cost"), costText],
    ]),
  );
}

/* -- raw -------------------------------------------------------------------------------------- */

function tabRaw(turn, ctx) {
  const root = h("div", { class: "raw" });
  const views = [
    ["request", t("raw.request"), () => turn.request_body],
    ["response", t("raw.response"), () => turn.response_body],
    ["turn", t("raw.turn"), () => turn],
  ];
  const output = h("div", { class: "raw-output" });
  const bar = h("div", { class: "segmented" });
  const show = (key) => {
    for (const button of bar.children) button.classList.toggle("active", button.dataset.view === key);
    const view = views.find((v) => v[0] === key);
    const value = view[2]();
    clear(output).append(
      value === null || value === undefined
        ? h("div", { class: "muted", text: t("raw.empty") })
        : renderJson(value, ctx, "json"),
    );
    app.rawView = key;
  };
  for (const [key, label] of views)
    bar.append(h("button", { class: "seg", dataset: { view: key }, text: label, onclick: () => show(key) }));
  const copy = h("button", {
    class: "btn",
    text: t("raw.copy"),
    onclick: () => {
      const value = views.find((v) => v[0] === (app.rawView || "request"))[2]();
      copyText(prettyJson(value === undefined ? null : value), t("toast.copiedJson"));
    },
  });
  root.append(h("div", { class: "toolbar" }, bar, copy), output);
  show(app.rawView || "request");
  return root;
}
