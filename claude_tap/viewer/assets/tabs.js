/* tabs.js: what each detail tab shows for one turn: Messages, Tools and Response here; Events,
Headers, Usage and Raw in recorded.js; Diff in difftab.js.

Each tab function takes the materialized turn and a block context and returns a node. Nothing
here is built before its tab is opened. */

const TABS = ["overview", "tools", "response", "events", "headers", "usage", "diff", "raw"];
const COLLAPSE_ABOVE = 60; // messages; longer conversations show their tail first
const HISTORY_KEEP = 2; // a turn opens at its new messages: fold the history when more than this precedes them

function tabCount(name, turn) {
  if (name === "overview") return turn.messages.length;
  if (name === "tools") return turn.tools.length;
  if (name === "events") return turn.events.length;
  return null;
}

function renderTab(name, turn, ctx) {
  switch (name) {
    case "tools":
      return tabTools(turn, ctx);
    case "response":
      return tabResponse(turn, ctx);
    case "events":
      return tabEvents(turn);
    case "headers":
      return tabHeaders(turn);
    case "usage":
      return tabUsage(turn);
    case "diff":
      return tabDiff(turn);
    case "raw":
      return tabRaw(turn, ctx);
    default:
      return tabOverview(turn, ctx);
  }
}

/* -- overview --------------------------------------------------------------------------------- */

function tabOverview(turn, ctx) {
  const root = h("div", { class: "overview" });
  const problem = errorBox(turn);
  if (problem) root.append(problem);
  const insights = turnInsights(turn); // threads.js: thread, cache miss, context composition
  if (insights) root.append(insights);
  if (turn.api === "raw") root.append(h("div", { class: "note", text: t("overview.raw") }));
  const rec = store.recs[turn.index];
  const prevRec = turn.prev !== null && turn.prev !== undefined ? store.recs[turn.prev] : null;
  const seen = prevRec ? new Set(prevRec.message_refs) : null;
  const isNew = rec.message_refs.map((ref) => (seen ? !seen.has(ref) : false));
  const newCount = isNew.filter(Boolean).length;

  const markdownToggle = h("input", { type: "checkbox", id: "md-toggle", checked: ctx.markdown });
  markdownToggle.addEventListener("change", () => setMarkdown(markdownToggle.checked));
  root.append(
    h(
      "div",
      { class: "toolbar" },
      h("label", { class: "switch" }, markdownToggle, h("span", { text: t("overview.markdown") })),
      h(
        "span",
        { class: "muted" },
        plural(turn.messages.length, "n.message", "n.messages"),
        prevRec ? " · " + t("overview.newSince", { n: newCount, turn: turnLabel(turn.prev) }) : "",
      ),
      newCount
        ? h("button", {
            class: "btn jump-new",
            text: t("overview.jumpNew") + " ↓",
            onclick: () => jumpToNew(root),
          })
        : null,
    ),
  );
  if (turn.system.length) root.append(systemSection(turn, ctx));

  const list = h("div", { class: "messages" });
  const firstNew = isNew.indexOf(true);
  let start = 0;
  if (!ctx.full && firstNew > HISTORY_KEEP) start = firstNew; // history one click away, above the new
  else if (!ctx.full && turn.messages.length > COLLAPSE_ABOVE) {
    start = turn.messages.length - 30;
    if (firstNew >= 0) start = Math.min(start, firstNew - 4);
    if (start < 8) start = 0;
  }
  if (start > 0) list.append(collapsedGroup(turn, ctx, isNew, start));
  for (let n = start; n < turn.messages.length; n++)
    list.append(renderMessage(turn.messages[n], n, ctx, { isNew: isNew[n] }));
  if (!turn.messages.length && turn.api !== "raw")
    list.append(h("div", { class: "muted", text: t("overview.noMessages") }));
  root.append(list);

  if (turn.output.length || turn.stop_reason) {
    const response = { role: "assistant", content: turn.output };
    const note = turn.stop_reason ? t("response.stop", { reason: turn.stop_reason }) : null;
    const card = renderMessage(response, turn.messages.length, ctx, { label: t("overview.response"), note });
    card.classList.add("is-response");
    root.append(card);
  }
  return root;
}

/* Scrolls to the first new message (unfolding nothing: the history stays folded above it). */
function jumpToNew(root) {
  const first = root.querySelector(".msg.is-new");
  if (!first) return;
  first.scrollIntoView({ block: "start" });
  flash(first);
}

function collapsedGroup(turn, ctx, isNew, count) {
  const group = h("div", { class: "collapsed-group" });
  const button = h("button", { class: "btn wide", text: t("overview.showEarlier", { n: fmtInt(count) }) });
  group.expand = () => {
    const nodes = [];
    for (let n = 0; n < count; n++) nodes.push(renderMessage(turn.messages[n], n, ctx, { isNew: isNew[n] }));
    group.replaceWith(...nodes);
  };
  button.addEventListener("click", group.expand);
  group.append(button);
  return group;
}

function systemSection(turn, ctx) {
  const chars = turn.system.reduce((sum, block) => sum + blockText(block).length, 0);
  const preview = clip(blockText(turn.system[0]).replace(/\s+/g, " "), 140);
  const details = h(
    "details",
    { class: "system" },
    h(
      "summary",
      null,
      h("span", { class: "role", text: t("overview.system") }),
      h("span", {
        class: "muted small",
        text: plural(turn.system.length, "n.block", "n.blocks") + " · " + plural(chars, "n.char", "n.chars"),
      }),
      h("span", { class: "sys-preview", text: preview }),
    ),
  );
  fillWhenOpen(details, ctx, () => {
    const body = h("div", { class: "blocks" });
    for (const block of turn.system) body.append(renderBlock(block, ctx));
    return body;
  });
  return details;
}

function errorBox(turn) {
  const isHttpError = typeof turn.status === "number" && turn.status >= 400;
  if (!turn.error && !isHttpError && turn.complete !== false) return null;
  const lines = [];
  if (turn.error) lines.push(String(turn.error));
  if (isHttpError && !turn.error) lines.push(t("error.status", { status: turn.status }));
  if (turn.complete === false) lines.push(t("error.incomplete"));
  return h(
    "div",
    { class: "error-box", role: "alert" },
    h("strong", { text: t("error.title") }),
    ...lines.map((line) => h("div", { class: "plain", text: line })),
  );
}

/* -- tools ------------------------------------------------------------------------------------ */

function tabTools(turn, ctx) {
  if (!turn.tools.length) return h("div", { class: "empty-tab", text: t("tools.none") });
  const root = h("div", { class: "tools" });
  const index = h("div", { class: "tool-index" });
  const cards = turn.tools.map((tool, n) => {
    const card = h(
      "section",
      { class: "tool-def", dataset: { tool: String(n) } },
      h("h3", { class: "tool-def-name", text: String(tool.name) }),
      tool.description ? renderText(String(tool.description), ctx, "tool-desc") : null,
    );
    const schema = h("details", { class: "schema", open: true }, h("summary", { text: t("tools.schema") }));
    schema.append(renderJson(tool.input_schema === undefined ? null : tool.input_schema, ctx, "json"));
    card.append(schema);
    index.append(
      h("button", { class: "chip chip-btn", text: String(tool.name), onclick: () => jumpTo(card) }),
    );
    return card;
  });
  root.append(index, ...cards);
  return root;
}

/* -- response --------------------------------------------------------------------------------- */

function tabResponse(turn, ctx) {
  const root = h("div", { class: "response" });
  const problem = errorBox(turn);
  if (problem) root.append(problem);
  root.append(
    keyValues([
      [t("response.status"), turn.status === null || turn.status === undefined ? "—" : String(turn.status)],
      [t("response.stopReason"), turn.stop_reason || "—"],
      [t("response.complete"), turn.complete ? t("yes") : t("no")],
      [t("response.transport"), turn.transport],
    ]),
  );
  root.append(h("h3", { class: "section-title", text: t("response.output") }));
  if (turn.output.length) {
    const blocks = h("div", { class: "blocks" });
    for (const block of turn.output) blocks.append(renderBlock(block, ctx));
    root.append(blocks);
  } else root.append(h("div", { class: "muted", text: t("response.noOutput") }));
  if (turn.response_body !== null && turn.response_body !== undefined) {
    const body = h("details", { class: "raw-body" }, h("summary", { text: t("response.body") }));
    fillWhenOpen(body, ctx, () => renderJson(turn.response_body, ctx, "json"));
    root.append(body);
  }
  return root;
}

function keyValues(pairs) {
  return h(
    "dl",
    { class: "kv" },
    pairs.map(([key, value]) => [h("dt", { text: key }), h("dd", { text: value })]),
  );
}
