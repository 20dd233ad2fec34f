/* search.js: one search across every turn, with highlights and next / previous.

Matching turns are found on the interned texts (each distinct message is lowered once), so typing
stays fast on long sessions. Next / previous walk the highlighted matches of the turn on screen,
then move to the next matching turn, opening the tab where its match is. While a search runs, the
detail is rendered whole (no clipped texts, no folded messages), so every match can be marked. */

const search = { query: "", matches: [], marks: [], markPos: -1, timer: 0 };

/* What to mark in the turn on screen: the search, else the "Filter turns" text (the same matching). */
function markedQuery() {
  return search.query || app.filters.text.trim().toLowerCase();
}

function setSearch(query) {
  const normalized = query.trim().toLowerCase();
  if (normalized === search.query) return;
  search.query = normalized;
  search.matches = normalized ? store.order.filter((index) => turnMatches(index, normalized)) : [];
  search.markPos = -1;
  markSearchRows();
  renderDetail(true);
  updateSearchCount();
}

function refreshSearch() {
  if (!search.query) return;
  search.matches = store.order.filter((index) => turnMatches(index, search.query));
  markSearchRows();
}

function searchStep(direction) {
  const input = document.getElementById("search");
  if (input.value.trim().toLowerCase() !== search.query) setSearch(input.value);
  if (!search.matches.length) return updateSearchCount();
  const onHitTurn = search.matches.includes(app.selected);
  if (onHitTurn && search.marks.length) {
    const next = search.markPos + direction;
    if (search.markPos >= 0 && next >= 0 && next < search.marks.length) return focusMark(next);
    if (search.markPos < 0) return focusMark(direction > 0 ? 0 : search.marks.length - 1);
  }
  const target = neighbourMatch(direction, onHitTurn);
  openTurn(target, bestTab(target), () => {
    if (search.marks.length) focusMark(direction > 0 ? 0 : search.marks.length - 1);
    else updateSearchCount();
  });
}

function neighbourMatch(direction, onHitTurn) {
  const list = search.matches;
  const selected = app.selected === null ? -1 : app.selected;
  if (direction > 0) {
    const after = list.find((index) => index > selected);
    return after !== undefined ? after : list[0];
  }
  if (!onHitTurn && selected < 0) return list[list.length - 1];
  for (let n = list.length - 1; n >= 0; n--) if (list[n] < selected) return list[n];
  return list[list.length - 1];
}

/* The tab of the turn whose content holds the query: the current tab when it does. */
function bestTab(index) {
  const order = [app.tab, "overview", "tools", "events", "headers", "response", "raw"];
  for (const tab of order) if (tabHasQuery(index, tab)) return tab;
  return "raw";
}

function tabHasQuery(index, tab) {
  const rec = store.recs[index];
  const q = search.query;
  const has = (key, make) => cachedText(key, make).includes(q);
  switch (tab) {
    case "overview":
      return (
        has("s" + rec.system_ref, () => (store.systems[rec.system_ref] || []).map(blockText).join("\n")) ||
        rec.message_refs.some((ref) => has("m" + ref, () => messageText(store.messages[ref]))) ||
        has("m" + rec.output_ref, () => messageText(store.messages[rec.output_ref])) ||
        (rec.error || "").toLowerCase().includes(q)
      );
    case "tools":
      return has("t" + rec.tools_ref, () => prettyJson(store.toolsets[rec.tools_ref]));
    case "events":
      return (rec.events || []).some((event) =>
        ((event.event || "") + " " + event.data).toLowerCase().includes(q),
      );
    case "headers":
      return (prettyJson(rec.request_headers) + prettyJson(rec.response_headers) + (rec.url || ""))
        .toLowerCase()
        .includes(q);
    case "response":
      return (
        has("m" + rec.output_ref, () => messageText(store.messages[rec.output_ref])) ||
        prettyJson(rec.response_body).toLowerCase().includes(q)
      );
    default:
      return false;
  }
}

/* Called after the detail panel is (re)built: mark every match in it. */
function highlightMatches(root) {
  search.marks = [];
  search.markPos = -1;
  const query = markedQuery();
  if (!query) return updateSearchCount();
  const pattern = new RegExp(query.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi");
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) =>
      node.parentNode.closest("button, select, option, .tabs")
        ? NodeFilter.FILTER_REJECT
        : NodeFilter.FILTER_ACCEPT,
  });
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const text = node.nodeValue;
    pattern.lastIndex = 0;
    let m = pattern.exec(text);
    if (!m) continue;
    const pieces = document.createDocumentFragment();
    let last = 0;
    while (m) {
      pieces.append(text.slice(last, m.index));
      const mark = h("mark", { class: "hl", text: m[0] });
      pieces.append(mark);
      search.marks.push(mark);
      last = m.index + m[0].length;
      m = search.marks.length < 5000 ? pattern.exec(text) : null;
    }
    pieces.append(text.slice(last));
    node.replaceWith(pieces);
  }
  updateSearchCount();
}

function focusMark(position) {
  const previous = search.marks[search.markPos];
  if (previous) previous.classList.remove("current");
  search.markPos = position;
  const mark = search.marks[position];
  revealMark(mark);
  mark.classList.add("current");
  mark.scrollIntoView({ block: "center" });
  updateSearchCount();
}

/* Opens what hides a mark: folded <details>, a tool result capped in height (blocks.js: capResult). */
function revealMark(mark) {
  for (let el = mark.parentElement; el; el = el.parentElement) {
    if (el.tagName === "DETAILS" && !el.open) {
      if (el.fillNow) el.fillNow();
      el.open = true;
    }
    if (el.classList.contains("is-capped")) el.parentElement.querySelector(".result-toggle").click();
  }
}

function updateSearchCount() {
  const out = document.getElementById("search-count");
  const filterCount = document.getElementById("filter-marks");
  if (filterCount)
    filterCount.textContent =
      !search.query && search.marks.length ? t("filter.marks", { n: search.marks.length }) : "";
  if (!search.query) return (out.textContent = "");
  if (!search.matches.length) return (out.textContent = t("search.none"));
  const turnPos = search.matches.indexOf(app.selected);
  out.textContent =
    turnPos < 0
      ? t("search.turns", { n: search.matches.length })
      : t("search.position", {
          mark: search.markPos + 1,
          marks: search.marks.length,
          turn: turnPos + 1,
          turns: search.matches.length,
        });
}
