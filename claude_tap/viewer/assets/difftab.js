/* difftab.js: the Diff tab, this turn against another (by default the previous turn of the same
conversation, turn.prev; "matched by content (guess)" when the normalizer had to guess).

Sections: request parameters, system prompt, tools (added, removed, changed incl. schema), and
messages: an edit script over interned message references (equal reference = equal content),
where a removed message facing an added one at the same place is shown as a line diff with the
changed words marked. */

const DIFF_CONTEXT = 3;

function tabDiff(turn) {
  const root = h("div", { class: "diff" });
  const otherIndex = diffTargetFor(turn);
  root.append(diffHeader(turn, otherIndex));
  if (otherIndex === null || !store.recs[otherIndex]) {
    root.append(h("div", { class: "note", text: t("diff.noPrev") }));
    return root;
  }
  const before = turnAt(otherIndex);
  const sections = [
    diffParams(before, turn),
    diffSystem(before, turn),
    diffTools(before, turn),
    diffMessages(before, turn),
  ];
  root.append(
    h(
      "div",
      { class: "diff-summary" },
      sections.map((s) => s.chip),
    ),
  );
  for (const section of sections) root.append(section.node);
  return root;
}

function diffHeader(turn, otherIndex) {
  const picker = h("select", { id: "diff-picker", "aria-label": t("diff.pick") });
  picker.append(h("option", { value: "", text: t("diff.none") }));
  for (const index of store.order) {
    if (index === turn.index) continue;
    const rec = store.recs[index];
    const label =
      turnLabel(index) +
      "  " +
      (rec.model || rec.api) +
      (index === turn.prev ? "  (" + t("diff.prevShort") + ")" : "");
    picker.append(
      h("option", { value: String(turnNumber(index)), text: label, selected: index === otherIndex }),
    );
  }
  picker.addEventListener("change", () =>
    setDiffTarget(turn.index, picker.value === "" ? null : turnIndexOf(Number(picker.value))),
  );
  let how = "";
  if (otherIndex !== null && otherIndex === turn.prev)
    how = t(turn.prev_is_guess ? "diff.guess" : "diff.sameConversation");
  else if (otherIndex !== null) how = t("diff.manual");
  return h(
    "div",
    { class: "diff-head" },
    h("span", { text: t("diff.comparing", { turn: turnLabel(turn.index) }) }),
    picker,
    how
      ? h("span", {
          class: "chip" + (turn.prev_is_guess && otherIndex === turn.prev ? " chip-warn" : ""),
          text: how,
        })
      : null,
  );
}

function summaryChip(label, changes) {
  return h("span", { class: "chip " + (changes ? "chip-changed" : "chip-same"), text: label });
}

/* "messages +2 ~1", or "messages unchanged". */
function countsChip(what, counts) {
  const parts = [];
  if (counts.added) parts.push("+" + counts.added);
  if (counts.removed) parts.push("−" + counts.removed);
  if (counts.changed) parts.push("~" + counts.changed);
  const label = t(what) + " " + (parts.length ? parts.join(" ") : t("diff.unchanged"));
  return summaryChip(label, parts.length);
}

function diffSection(title, chip, body) {
  return {
    chip,
    node: h("section", { class: "diff-section" }, h("h3", { class: "section-title", text: title }), body),
  };
}

/* -- parameters ------------------------------------------------------------------------------- */

function diffParams(before, after) {
  const flat = (turn) =>
    Object.assign(
      { model: turn.model, api: turn.api, url: turn.url, method: turn.method },
      turn.params || {},
    );
  const a = flat(before);
  const b = flat(after);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const rows = keys.filter((key) => prettyJson(a[key]) !== prettyJson(b[key]));
  const body = h("div");
  if (!rows.length) body.append(h("div", { class: "muted", text: t("diff.paramsSame") }));
  else {
    const table = h(
      "table",
      { class: "grid params-diff" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { text: t("diff.param") }),
          h("th", { text: turnLabel(before.index) }),
          h("th", { text: turnLabel(after.index) }),
        ),
      ),
    );
    const tbody = h("tbody");
    for (const key of rows) {
      const show = (value) =>
        value === undefined
          ? h("span", { class: "muted", text: t("diff.absent") })
          : h("code", { class: "wrap", text: clip(prettyJson(value), 2000) });
      tbody.append(
        h(
          "tr",
          null,
          h("th", { class: "mono", text: key }),
          h("td", { class: "del-bg" }, show(a[key])),
          h("td", { class: "add-bg" }, show(b[key])),
        ),
      );
    }
    body.append(appendAll(table, [tbody]));
  }
  return diffSection(t("diff.params"), countsChip("diff.chipParams", { changed: rows.length }), body);
}

/* -- system ----------------------------------------------------------------------------------- */

function diffSystem(before, after) {
  const a = before.system.map(blockDiffText).join("\n\n");
  const b = after.system.map(blockDiffText).join("\n\n");
  if (a === b)
    return diffSection(
      t("diff.system"),
      summaryChip(t("diff.systemSame"), 0),
      h("div", {
        class: "muted",
        text: t("diff.systemSame") + " · " + plural(a.length, "n.char", "n.chars"),
      }),
    );
  return diffSection(t("diff.system"), summaryChip(t("diff.systemChanged"), 1), renderLineDiff(a, b));
}

/* -- tools ------------------------------------------------------------------------------------ */

function diffTools(before, after) {
  const byName = (tools) => new Map(tools.map((tool) => [String(tool.name), tool]));
  const a = byName(before.tools);
  const b = byName(after.tools);
  const body = h("div", { class: "tool-diffs" });
  let added = 0;
  let removed = 0;
  let changed = 0;
  const toolText = (tool) => prettyJson({ description: tool.description, input_schema: tool.input_schema });
  for (const [name, tool] of b) {
    if (!a.has(name)) {
      added++;
      body.append(
        h(
          "div",
          { class: "diff-item added" },
          h("span", { class: "sign", text: "+" }),
          h("code", { text: name }),
          h("span", { class: "muted", text: " " + t("diff.toolAdded") }),
        ),
      );
    } else if (toolText(a.get(name)) !== toolText(tool)) {
      changed++;
      body.append(
        h(
          "div",
          { class: "diff-item changed" },
          h("span", { class: "sign", text: "~" }),
          h("code", { text: name }),
          h("span", { class: "muted", text: " " + t("diff.toolChanged") }),
        ),
        renderLineDiff(toolText(a.get(name)), toolText(tool)),
      );
    }
  }
  for (const name of a.keys()) {
    if (!b.has(name)) {
      removed++;
      body.append(
        h(
          "div",
          { class: "diff-item removed" },
          h("span", { class: "sign", text: "−" }),
          h("code", { text: name }),
          h("span", { class: "muted", text: " " + t("diff.toolRemoved") }),
        ),
      );
    }
  }
  if (!added && !removed && !changed)
    body.append(h("div", { class: "muted", text: t("diff.toolsSame", { n: b.size }) }));
  const chip = countsChip("diff.chipTools", { added, removed, changed });
  return diffSection(t("diff.tools"), chip, body);
}

/* -- messages --------------------------------------------------------------------------------- */

function diffMessages(before, after) {
  const refsA = store.recs[before.index].message_refs;
  const refsB = store.recs[after.index].message_refs;
  const runs = editScript(refsA, refsB);
  const body = h("div", { class: "message-diffs" });
  const ctx = blockContext(after, { markdown: false });
  let i = 0;
  let j = 0;
  let added = 0;
  let removed = 0;
  let changed = 0;
  for (let r = 0; r < runs.length; r++) {
    const [op, count] = runs[r];
    if (op === "=") {
      body.append(unchangedMessages(after, j, count, ctx));
      i += count;
      j += count;
      continue;
    }
    // A "-" run followed by a "+" run: the first min(n, m) pairs changed, the rest removed/added.
    const dels = op === "-" ? count : 0;
    const next = runs[r + 1];
    const ins = op === "+" ? count : next && next[0] === "+" && op === "-" ? next[1] : 0;
    if (op === "-" && ins) r++;
    const pairs = Math.min(dels, ins);
    for (let p = 0; p < pairs; p++) {
      changed++;
      body.append(changedMessage(before.messages[i + p], after.messages[j + p], i + p, j + p));
    }
    for (let p = pairs; p < dels; p++) {
      removed++;
      body.append(
        messageCard(before.messages[i + p], i + p, "removed", blockContext(before, { markdown: false })),
      );
    }
    for (let p = pairs; p < ins; p++) {
      added++;
      body.append(messageCard(after.messages[j + p], j + p, "added", ctx));
    }
    i += dels;
    j += ins;
  }
  if (!refsA.length && !refsB.length)
    body.append(h("div", { class: "muted", text: t("overview.noMessages") }));
  const chip = countsChip("diff.chipMessages", { added, removed, changed });
  return diffSection(t("diff.messages"), chip, body);
}

function messageCard(message, position, kind, ctx) {
  const card = renderMessage(message, position, ctx, {
    note: t(kind === "added" ? "diff.msgAdded" : "diff.msgRemoved"),
  });
  card.classList.add("diff-" + kind);
  return card;
}

function unchangedMessages(turn, from, count, ctx) {
  const label =
    count === 1
      ? t("diff.unchangedOne", { at: from + 1 })
      : t("diff.unchangedMany", { n: count, from: from + 1, to: from + count });
  const group = h("details", { class: "diff-unchanged" }, h("summary", { text: label }));
  group.addEventListener("toggle", () => {
    if (!group.open || group.dataset.filled) return;
    group.dataset.filled = "1";
    for (let n = from; n < from + count; n++) group.append(renderMessage(turn.messages[n], n, ctx));
  });
  return group;
}

function changedMessage(a, b, positionA, positionB) {
  const head = h(
    "div",
    { class: "diff-item changed" },
    h("span", { class: "sign", text: "~" }),
    h("span", { text: t("diff.msgChanged", { a: positionA + 1, b: positionB + 1, role: String(b.role) }) }),
  );
  const textA = messageDiffText(a);
  const textB = messageDiffText(b);
  const body =
    textA === textB
      ? h("div", { class: "muted small", text: t("diff.hiddenChange") })
      : renderLineDiff(textA, textB);
  return h("div", { class: "changed-message" }, head, body);
}

function messageDiffText(message) {
  return "[" + message.role + "]\n" + (message.content || []).map(blockDiffText).join("\n");
}

function blockDiffText(block) {
  switch (block.type) {
    case "text":
      return block.text || "";
    case "thinking":
      return (
        "[thinking" +
        (block.redacted ? " redacted" : "") +
        (block.signature ? " signature " + clip(block.signature, 24) : "") +
        "]\n" +
        (block.text || "")
      );
    case "tool_use":
      return "[tool_use " + block.name + " " + block.id + "]\n" + prettyJson(block.input);
    case "tool_result":
      return (
        "[tool_result " +
        block.tool_use_id +
        (block.is_error ? " error" : "") +
        "]\n" +
        (block.content || []).map(blockDiffText).join("\n")
      );
    case "image": {
      const data = block.data || "";
      const tag = data
        ? fmtBytes(Math.floor((data.length * 3) / 4)) + " " + data.slice(0, 12) + "…" + data.slice(-12)
        : block.url || "";
      return "[image " + block.media_type + " " + tag + "]";
    }
    default:
      return "[" + (block.label || block.type) + "]\n" + prettyJson(block.raw);
  }
}

/* -- line diff view --------------------------------------------------------------------------- */

function renderLineDiff(textA, textB) {
  const rows = diffLines(textA, textB);
  const table = h("table", { class: "line-diff" });
  const body = h("tbody");
  const hunks = diffHunks(rows, DIFF_CONTEXT);
  for (let n = 0; n < hunks.length; n++) {
    const row = hunks[n];
    if (row.op === "skip") {
      body.append(skipRow(row));
      continue;
    }
    if (row.op === "-") {
      // Pair this run of removed lines with the added lines right after it, for word marks.
      const dels = [];
      while (n < hunks.length && hunks[n].op === "-") dels.push(hunks[n++]);
      const adds = [];
      while (n < hunks.length && hunks[n].op === "+") adds.push(hunks[n++]);
      n--;
      dels.forEach((del, k) =>
        body.append(lineRow(del, k < adds.length ? diffWords(del.text, adds[k].text).left : null)),
      );
      adds.forEach((add, k) =>
        body.append(lineRow(add, k < dels.length ? diffWords(dels[k].text, add.text).right : null)),
      );
      continue;
    }
    body.append(lineRow(row, null));
  }
  table.append(body);
  const wrap = h("div", { class: "line-diff-wrap" }, table);
  if (rows.isApproximate) wrap.prepend(h("div", { class: "note small", text: t("diff.approximate") }));
  return wrap;
}

function lineRow(row, segments) {
  const cls = row.op === "-" ? "ld-del" : row.op === "+" ? "ld-add" : "ld-same";
  const text = h("td", { class: "ld-text" });
  if (segments && segments.some((s) => s.changed)) {
    for (const segment of segments)
      text.append(
        segment.changed
          ? h("mark", { class: row.op === "-" ? "w-del" : "w-add", text: segment.text })
          : segment.text,
      );
  } else text.append(row.text);
  return h(
    "tr",
    { class: cls },
    h("td", { class: "ld-no", text: row.a === null ? "" : String(row.a) }),
    h("td", { class: "ld-no", text: row.b === null ? "" : String(row.b) }),
    h("td", { class: "ld-sign", text: row.op === "=" ? " " : row.op === "-" ? "−" : "+" }),
    text,
  );
}

function skipRow(skip) {
  const cell = h("td", { colspan: "4", class: "ld-skip" });
  const button = h("button", { class: "link-btn", text: t("diff.skipped", { n: fmtInt(skip.count) }) });
  const row = h("tr", { class: "ld-skip-row" }, cell);
  button.addEventListener("click", () => row.replaceWith(...skip.rows.map((r) => lineRow(r, null))));
  cell.append(button);
  return row;
}
