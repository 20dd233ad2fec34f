/* threads.js: the session's threads and each turn's context and cache, as Python worked them out
(normalize/threads.py, context.py, cache.py, sent in the payload's "analysis").

- The thread tree in the sidebar: the main agent, its subagents under the turn that dispatched them,
  other sessions, side requests; each with its turns, tokens, cost and duration. A click filters the
  turn list to that thread (again: all threads).
- Per turn, atop the Overview tab: the thread and the jumps between a dispatching call and its
  subagent, the prompt as a stacked bar of its parts (system, tools, history by role and block kind)
  with its share of the model's window and the largest items, and why the cache missed, with a jump
  to the diff that shows it.
Live (viewer/live.py), an `analysis` event brings every thread again and the figures of the turns
that changed; mergeAnalysis folds them in, so a live turn shows its figures without a reload. */

const threads = { list: [], byId: new Map(), turns: new Map() };

// Part colours by block kind; the role is the part's name before the dot.
const PART_KINDS = [
  "system",
  "tools",
  "text",
  "reply",
  "tool_call",
  "tool_result",
  "thinking",
  "image",
  "other",
];

function loadAnalysis(analysis) {
  threads.list = (analysis && analysis.threads) || [];
  threads.byId = new Map(threads.list.map((thread) => [thread.id, thread]));
  threads.turns = new Map(
    Object.entries((analysis && analysis.turns) || {}).map(([index, facts]) => [Number(index), facts]),
  );
}

/* A live `analysis` event: all threads, and the figures of the turns that changed. Returns whether
the turn on screen is among them. */
function mergeAnalysis(analysis) {
  threads.list = analysis.threads || [];
  threads.byId = new Map(threads.list.map((thread) => [thread.id, thread]));
  for (const thread of threads.list)
    for (const index of thread.turns) if (store.recs[index]) store.recs[index].thread = thread.id;
  let touchesSelected = false;
  for (const [index, facts] of Object.entries(analysis.turns || {})) {
    threads.turns.set(Number(index), facts);
    if (Number(index) === app.selected) touchesSelected = true;
  }
  return touchesSelected;
}

function threadDepth(thread) {
  let depth = 0;
  for (let up = thread.parent; up && depth < 6; depth++) up = (threads.byId.get(up) || {}).parent;
  return depth;
}

function threadLabel(thread) {
  if (thread.kind === "main") return t("threads.main");
  if (thread.kind === "side") return t("threads.side");
  return thread.label || thread.id;
}

/* -- the tree --------------------------------------------------------------------------------- */

function renderThreadTree() {
  const box = byId("thread-tree");
  if (threads.list.length < 2) {
    box.hidden = true;
    return;
  }
  const ordered = [];
  const visit = (thread) => {
    ordered.push(thread);
    for (const child of threads.list) if (child.parent === thread.id) visit(child);
  };
  for (const thread of threads.list) if (!thread.parent || !threads.byId.has(thread.parent)) visit(thread);
  box.hidden = false;
  box.replaceChildren(h("div", { class: "tree-head", text: t("threads.title") }), ...ordered.map(threadRow));
}

function threadRow(thread) {
  const totals = thread.totals || {};
  const active = app.filters.thread === thread.id;
  const facts = [plural(totals.turns || 0, "n.turn", "n.turns"), fmtTokens(totals.tokens || 0)];
  if (totals.cost_usd) facts.push(fmtCost(totals.cost_usd));
  if (typeof totals.duration_s === "number") facts.push(fmtMs(totals.duration_s * 1000));
  let title = threadLabel(thread) + " (" + thread.id + ")";
  if (thread.parent_turn !== null && thread.parent_turn !== undefined)
    title += " · " + t("threads.dispatchedBy", { turn: turnLabel(thread.parent_turn) });
  if (thread.match && thread.match.length)
    title += " · " + t("threads.matched", { how: thread.match.join(", "), sure: thread.confidence });
  if (thread.reasons && thread.reasons.length) title += " · " + [...new Set(thread.reasons)].join(", ");
  return h(
    "button",
    {
      class:
        "thread-row kind-" +
        thread.kind +
        " depth-" +
        Math.min(threadDepth(thread), 3) +
        (active ? " active" : ""),
      dataset: { thread: thread.id },
      "aria-pressed": active ? "true" : "false",
      title,
      onclick: () => filterThread(active ? "" : thread.id),
    },
    h("span", { class: "thread-label", text: threadLabel(thread) }),
    h("span", { class: "thread-totals", text: facts.join(" · ") }),
  );
}

function filterThread(id) {
  app.filters.thread = id;
  renderThreadTree();
  renderSidebar();
  markSearchRows();
}

/* -- a turn's insights (atop Overview) -------------------------------------------------------- */

function turnInsights(turn) {
  const facts = threads.turns.get(turn.index) || {};
  const parts = [threadLine(turn), facts.cache ? cacheBox(turn, facts.cache) : null];
  if (facts.context) parts.push(contextCard(facts.context, turn));
  const shown = parts.filter(Boolean);
  return shown.length ? h("div", { class: "insights" }, shown) : null;
}

function threadLine(turn) {
  const items = [];
  const own = threads.byId.get(turn.thread);
  if (own && own.kind !== "main") {
    items.push(h("span", { class: "chip chip-thread", text: threadLabel(own) }));
    if (own.parent_turn !== null && own.parent_turn !== undefined)
      items.push(
        jump(t("threads.dispatchedBy", { turn: turnLabel(own.parent_turn) }), own.parent_turn, "jump-parent"),
      );
    if (own.result_turn !== null && own.result_turn !== undefined)
      items.push(
        jump(t("threads.resultIn", { turn: turnLabel(own.result_turn) }), own.result_turn, "jump-result"),
      );
  }
  for (const child of threads.list) {
    if (child.parent_turn !== turn.index || !child.turns.length) continue;
    items.push(
      jump(
        t("threads.dispatched", { label: threadLabel(child), turn: turnLabel(child.turns[0]) }),
        child.turns[0],
        "jump-child",
      ),
    );
  }
  return items.length ? h("div", { class: "thread-line" }, items) : null;
}

function jump(text, index, kind) {
  return h("button", { class: "link-btn " + kind, text, onclick: () => select(index) });
}

function cacheBox(turn, cache) {
  const what =
    cache.event === "reads_dropped"
      ? t("cache.readsDropped", { read: fmtInt(cache.cache_read), was: fmtInt(cache.previous_cached) })
      : t("cache.writesJumped", { write: fmtInt(cache.cache_write), read: fmtInt(cache.cache_read) });
  return h(
    "div",
    { class: "cache-box" },
    h("div", { class: "cache-head" }, h("strong", { text: t("cache.miss") }), " ", what),
    h(
      "ul",
      { class: "cache-causes" },
      cache.causes.map((cause) =>
        h("li", { dataset: { kind: cause.kind } }, h("code", { text: cause.kind }), " ", cause.detail),
      ),
    ),
    h("button", {
      class: "btn cache-diff",
      text: t("cache.compare", { turn: turnLabel(cache.against) }),
      onclick: () => {
        app.diffTargets.set(turn.index, cache.against);
        select(turn.index, "diff");
      },
    }),
  );
}

function contextCard(ctx, turn) {
  const total = ctx.prompt_tokens || 1;
  const bar = h("div", { class: "ctx-bar", role: "img", "aria-label": t("context.bar") });
  const legend = h("div", { class: "ctx-legend" });
  for (const [name, tokens] of Object.entries(ctx.parts)) {
    const kind = partKind(name);
    const segment = h("span", { class: "ctx-seg kind-" + kind, title: name + ": " + fmtInt(tokens) });
    segment.style.width = ((100 * tokens) / total).toFixed(2) + "%"; // CSSOM: allowed by the page's CSP
    bar.append(segment);
    legend.append(
      h(
        "span",
        { class: "ctx-key" },
        h("span", { class: "ctx-swatch kind-" + kind }),
        name + " " + fmtTokens(tokens),
      ),
    );
  }
  const head = [
    t("context.prompt", { n: fmtInt(ctx.prompt_tokens) }) + " (" + t("context." + ctx.basis) + ")",
  ];
  if (ctx.window && typeof ctx.window_share === "number")
    head.push(
      t("context.share", { share: (ctx.window_share * 100).toFixed(1), window: fmtTokens(ctx.window) }),
    );
  if (ctx.shared_with !== null && ctx.shared_with !== undefined)
    head.push(
      t("context.new", {
        n: ctx.new_messages,
        tokens: fmtInt(ctx.new_tokens),
        turn: turnLabel(ctx.shared_with),
      }),
    );
  const window = h("div", { class: "ctx-window" });
  if (typeof ctx.window_share === "number") {
    const fill = h("span", { class: "ctx-window-fill" + (ctx.window_share > 0.8 ? " is-high" : "") });
    fill.style.width = Math.min(100, ctx.window_share * 100).toFixed(2) + "%";
    window.append(fill);
  }
  const largest = (ctx.largest || []).map((item) =>
    h(
      "li",
      null,
      item.what +
        (item.message !== null ? " · " + t("context.message", { n: item.message + 1 }) : "") +
        " · " +
        fmtTokens(item.tokens),
    ),
  );
  return h(
    "details",
    { class: "ctx-card", open: !isPhone() }, // on a phone, folded: the messages come first
    h("summary", null, h("strong", { text: t("context.title") }), " ", head.join(" · ")),
    bar,
    typeof ctx.window_share === "number" ? window : null,
    legend,
    threadChart(turn),
    largest.length
      ? h(
          "div",
          { class: "ctx-largest" },
          h("span", { class: "muted", text: t("context.largest") }),
          h("ol", null, largest),
        )
      : null,
  );
}

/* The prompt of each turn of this turn's thread, as columns (this one marked); a click opens that turn. */
function threadChart(turn) {
  const thread = threads.byId.get(turn.thread);
  if (!thread || thread.turns.length < 2) return null;
  const points = thread.turns
    .map((index) => [index, (threads.turns.get(index) || {}).context])
    .filter(([, ctx]) => ctx);
  const most = Math.max(1, ...points.map(([, ctx]) => ctx.prompt_tokens));
  const chart = h("div", { class: "ctx-chart", role: "group", "aria-label": t("context.chart") });
  for (const [index, ctx] of points) {
    const column = h("button", {
      class: "ctx-col" + (index === turn.index ? " is-current" : ""),
      title: turnLabel(index) + ": " + t("context.prompt", { n: fmtInt(ctx.prompt_tokens) }),
      "aria-label": turnLabel(index),
      onclick: () => select(index),
    });
    column.style.height = Math.max(4, (100 * ctx.prompt_tokens) / most).toFixed(1) + "%";
    chart.append(column);
  }
  return h(
    "div",
    { class: "ctx-over-thread" },
    h("span", { class: "muted", text: t("context.chart") }),
    chart,
  );
}

function partKind(name) {
  const dot = name.indexOf(".");
  const kind = dot >= 0 ? name.slice(dot + 1) : name;
  if (kind === "text" && /^(assistant|model)$/.test(name.slice(0, dot))) return "reply"; // the model's own words
  return PART_KINDS.includes(kind) ? kind : "other";
}

/* A sidebar row's mark for a turn that missed the cache (its causes on hover). */
function cacheMark(index) {
  const facts = threads.turns.get(index);
  if (!facts || !facts.cache) return null;
  const causes = facts.cache.causes.map((cause) => cause.detail).join("; ");
  return h("span", { class: "row-cache", title: t("cache.miss") + " " + causes, text: t("cache.short") });
}
