/* blocks.js: messages and their typed blocks (text, thinking, tool_use, tool_result, image, other).

A tool call and its result share a colour (pair-N) and link to each other: the call's button
jumps to its result, the result's to its call, in this turn or, across turns, in the turn that
holds it. Long texts are cut at TEXT_CLIP characters with a button for the rest (not while a
search runs, so every match is on the page). */

const TEXT_CLIP = 20000;
const PAIR_COLOURS = 8;
const IMAGE_TYPE = /^image\/(png|jpe?g|gif|webp|bmp|svg\+xml|avif)$/i;
const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

/* ctx: {turn, markdown, full, pairs: Map id -> colour, names: Map id -> tool name} */
function blockContext(turn, options) {
  const pairs = new Map();
  const names = new Map();
  const visit = (blocks) => {
    for (const block of blocks || []) {
      if (block.type === "tool_use") {
        if (!pairs.has(block.id)) pairs.set(block.id, pairs.size % PAIR_COLOURS);
        names.set(block.id, block.name);
      } else if (block.type === "tool_result") {
        if (!pairs.has(block.tool_use_id)) pairs.set(block.tool_use_id, pairs.size % PAIR_COLOURS);
        visit(block.content);
      }
    }
  };
  for (const message of turn.messages) visit(message.content);
  visit(turn.output);
  return Object.assign({ turn, markdown: false, full: false, pairs, names }, options);
}

function renderMessage(message, position, ctx, extra) {
  const role = String(message.role || "unknown");
  const card = h(
    "section",
    {
      class: "msg role-" + roleClass(role) + (extra && extra.isNew ? " is-new" : ""),
      dataset: { msg: String(position) },
    },
    h(
      "header",
      { class: "msg-head" },
      h("span", { class: "role", text: role }),
      h("span", { class: "msg-no", text: extra && extra.label ? extra.label : "#" + (position + 1) }),
      extra && extra.isNew ? h("span", { class: "chip chip-new", text: t("msg.new") }) : null,
      extra && extra.note ? h("span", { class: "msg-note", text: extra.note }) : null,
    ),
  );
  const body = h("div", { class: "blocks" });
  for (const block of message.content || []) body.append(renderBlock(block, ctx));
  if (!(message.content || []).length) body.append(h("div", { class: "muted small", text: t("msg.empty") }));
  card.append(body);
  return card;
}

function roleClass(role) {
  if (role === "user" || role === "human") return "user";
  if (role === "assistant" || role === "model") return "assistant";
  if (role === "tool" || role === "function") return "tool";
  if (role === "system" || role === "developer") return "system";
  return "other";
}

function renderBlock(block, ctx) {
  switch (block && block.type) {
    case "text":
      return renderText(block.text || "", ctx, "block-text");
    case "thinking":
      return renderThinking(block, ctx);
    case "tool_use":
      return renderToolUse(block, ctx);
    case "tool_result":
      return renderToolResult(block, ctx);
    case "image":
      return renderImage(block);
    default:
      return renderOther(block || {}, ctx);
  }
}

function renderText(text, ctx, cls, forcePlain) {
  const useMarkdown = ctx.markdown && !forcePlain && text.length <= 200000;
  const shown = ctx.full || text.length <= TEXT_CLIP ? text : text.slice(0, TEXT_CLIP);
  const wrap = h("div", { class: cls });
  wrap.append(useMarkdown ? renderMarkdown(shown) : h("div", { class: "plain", text: shown }));
  if (shown.length < text.length) {
    const rest = text.length - shown.length;
    wrap.append(
      h("button", {
        class: "link-btn more",
        text: t("text.more", { n: fmtInt(rest) }),
        onclick: () =>
          wrap.replaceWith(renderText(text, Object.assign({}, ctx, { full: true }), cls, forcePlain)),
      }),
    );
  }
  return wrap;
}

function renderThinking(block, ctx) {
  const text = block.text || "";
  const bits = [t(block.redacted ? "thinking.redacted" : "thinking.title")];
  if (text) bits.push(plural(text.length, "n.char", "n.chars"));
  if (block.signature) bits.push(t("thinking.signed"));
  const details = h(
    "details",
    { class: "thinking" },
    h("summary", null, h("span", { class: "think-icon", text: "✦" }), bits.join(" · ")),
  );
  fillWhenOpen(details, ctx, () =>
    text
      ? renderText(text, Object.assign({}, ctx, { markdown: false }), "think-text")
      : h("div", { class: "think-text small", text: t("thinking.none") }),
  );
  return details;
}

/* Content inside <details> is built when first opened, unless a search needs it on the page now. */
function fillWhenOpen(details, ctx, make) {
  let filled = false;
  const fill = () => {
    if (filled) return;
    filled = true;
    details.append(make());
  };
  if (ctx.full) fill();
  else details.addEventListener("toggle", () => details.open && fill());
  details.fillNow = fill;
}

function renderToolUse(block, ctx) {
  const pair = ctx.pairs.has(block.id) ? ctx.pairs.get(block.id) : 0;
  const card = h("div", { class: "tool-call pair-" + pair, dataset: { toolId: String(block.id) } });
  const jump = h("button", {
    class: "link-btn jump",
    text: t("tool.toResult") + " ↓",
    onclick: () => jumpToResult(card, block.id),
  });
  card.append(
    h(
      "div",
      { class: "tool-head" },
      h("span", { class: "tool-arrow", text: "→" }),
      h("span", { class: "tool-kind", text: t("tool.call") }),
      h("span", { class: "tool-name", text: String(block.name) }),
      h("span", { class: "tool-id", text: String(block.id), title: String(block.id) }),
      jump,
    ),
  );
  card.append(renderJson(block.input, ctx, "tool-input"));
  return card;
}

function renderToolResult(block, ctx) {
  const id = String(block.tool_use_id);
  const pair = ctx.pairs.has(block.tool_use_id) ? ctx.pairs.get(block.tool_use_id) : 0;
  const name = ctx.names.get(block.tool_use_id) || findCallName(block.tool_use_id);
  const card = h("div", {
    class: "tool-result pair-" + pair + (block.is_error ? " is-error" : ""),
    dataset: { resultFor: id },
  });
  card.append(
    h(
      "div",
      { class: "tool-head" },
      h("span", { class: "tool-arrow", text: "←" }),
      h("span", { class: "tool-kind", text: t(block.is_error ? "tool.errorResult" : "tool.result") }),
      name ? h("span", { class: "tool-name", text: String(name) }) : null,
      h("span", { class: "tool-id", text: id, title: id }),
      h("button", {
        class: "link-btn jump",
        text: t("tool.toCall") + " ↑",
        onclick: () => jumpToCall(card, block.tool_use_id),
      }),
    ),
  );
  const body = h("div", { class: "tool-output" });
  for (const inner of block.content || []) {
    body.append(
      inner.type === "text"
        ? renderText(inner.text || "", ctx, "result-text", true)
        : renderBlock(inner, ctx),
    );
  }
  if (!(block.content || []).length)
    body.append(h("div", { class: "muted small", text: t("tool.noOutput") }));
  card.append(body);
  const size = resultBytes(block); // store.js
  if (size >= RESULT_CAP_BYTES || resultLines(block) > RESULT_CAP_LINES) capResult(card, body, size);
  return card;
}

/* Long results are shown RESULT_CAP_LINES-ish tall (CSS: .tool-output.is-capped) with an expand control. */
const RESULT_CAP_BYTES = 1500;
const RESULT_CAP_LINES = 16;

function resultLines(block) {
  let lines = 0;
  for (const inner of block.content || []) if (inner.type === "text") lines += (inner.text || "").split("\n").length;
  return lines;
}

function capResult(card, body, size) {
  body.classList.add("is-capped");
  const toggle = h("button", { class: "btn result-toggle", "aria-expanded": "false" });
  const label = () => {
    const open = !body.classList.contains("is-capped");
    toggle.textContent = t(open ? "tool.collapse" : "tool.expand", { size: fmtBytes(size) });
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  };
  toggle.addEventListener("click", () => {
    body.classList.toggle("is-capped");
    label();
  });
  label();
  if (size >= OVERSIZED_RESULT_BYTES) card.classList.add("is-oversized");
  card.append(toggle);
}

function renderImage(block) {
  const figure = h("figure", { class: "image" });
  const type = String(block.media_type || "");
  const data = typeof block.data === "string" ? block.data : "";
  if (data && IMAGE_TYPE.test(type) && BASE64.test(data)) {
    // Only data: URLs from the trace itself; the CSP allows nothing else (img-src data:).
    figure.append(
      h("img", { src: "data:" + type + ";base64," + data.replace(/\s+/g, ""), alt: type, loading: "lazy" }),
    );
    figure.append(h("figcaption", { text: type + " · " + fmtBytes(Math.floor((data.length * 3) / 4)) }));
  } else if (block.url) {
    figure.append(
      h("div", { class: "image-missing", text: t("image.remote") }),
      h("code", { class: "wrap", text: String(block.url) }),
    );
  } else {
    figure.append(h("div", { class: "image-missing", text: t("image.unshown", { type: type || "?" }) }));
  }
  return figure;
}

function renderOther(block, ctx) {
  const details = h(
    "details",
    { class: "other-block", open: true },
    h("summary", { text: block.label ? String(block.label) : t("block.other") }),
  );
  details.append(renderJson(block.raw !== undefined ? block.raw : block, ctx, "json"));
  return details;
}

function renderJson(value, ctx, cls) {
  const text = typeof value === "string" ? value : prettyJson(value);
  const limit = ctx && ctx.full ? Infinity : TEXT_CLIP * 5;
  const pre = h("pre", {
    class: "code " + (cls || ""),
    text: text.length > limit ? text.slice(0, limit) : text,
  });
  if (text.length <= limit) return pre;
  return h(
    "div",
    null,
    pre,
    h("button", {
      class: "link-btn more",
      text: t("text.more", { n: fmtInt(text.length - limit) }),
      onclick: (ev) => {
        pre.replaceChildren(shownText(text));
        ev.target.remove();
      },
    }),
  );
}

/* -- tool call <-> result links --------------------------------------------------------------- */

function findIn(root, attr, id) {
  for (const el of root.querySelectorAll("[data-" + attr + "]")) {
    const key = attr === "tool-id" ? el.dataset.toolId : el.dataset.resultFor;
    if (key === String(id)) return el;
  }
  return null;
}

function jumpToResult(fromCard, id) {
  const root = fromCard.closest(".panel") || document;
  const target = findIn(root, "result-for", id) || (expandCollapsed(root) && findIn(root, "result-for", id));
  if (target) return jumpTo(target);
  const other = turnWithResult(id);
  if (other !== null)
    return openTurn(other, "overview", () => jumpToResult(document.querySelector("#detail .panel"), id));
  toast(t("tool.resultNotFound"));
}

function jumpToCall(fromCard, id) {
  const root = fromCard.closest(".panel") || document;
  const target = findIn(root, "tool-id", id) || (expandCollapsed(root) && findIn(root, "tool-id", id));
  if (target) return jumpTo(target);
  const other = turnWithCall(id);
  if (other !== null)
    return openTurn(other, "overview", () => jumpToCall(document.querySelector("#detail .panel"), id));
  toast(t("tool.callNotFound"));
}

/* Shows the messages hidden behind "show earlier messages"; true when there were any. */
function expandCollapsed(root) {
  const groups = root.querySelectorAll(".collapsed-group");
  groups.forEach((group) => group.expand());
  return groups.length > 0;
}

function jumpTo(el) {
  el.scrollIntoView({ block: "center" });
  flash(el);
  return el;
}

/* Which turn's request carries the result of call `id` (the turn after the one that made it). */
function turnWithResult(id) {
  const ref = messageRefWith((block) => block.type === "tool_result" && block.tool_use_id === id);
  if (ref === null) return null;
  for (const index of store.order) if (store.recs[index].message_refs.includes(ref)) return index;
  return null;
}

/* Which turn's response made call `id`. */
function turnWithCall(id) {
  for (const index of store.order) {
    const output = store.messages[store.recs[index].output_ref];
    if (output && output.content.some((block) => block.type === "tool_use" && block.id === id)) return index;
  }
  return null;
}

function findCallName(id) {
  const index = turnWithCall(id);
  if (index === null) return null;
  const block = store.messages[store.recs[index].output_ref].content.find(
    (b) => b.type === "tool_use" && b.id === id,
  );
  return block ? block.name : null;
}

function messageRefWith(test) {
  for (let ref = 0; ref < store.messages.length; ref++) {
    const content = store.messages[ref].content || [];
    if (content.some(test)) return ref;
  }
  return null;
}
