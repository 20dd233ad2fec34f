/* markdown.js: a small Markdown renderer that builds DOM nodes and never parses HTML.

Safe by construction: every piece of the source becomes a text node inside elements we create
(there is no HTML string to escape wrongly). Raw HTML in the source is shown as text. Links are
made only for http(s) and mailto; images are never loaded (only their text shows).

Covers what models write: headings, paragraphs (line breaks kept), fenced and indented code,
lists (nested by indentation), block quotes, rules, pipe tables; inline code, bold, italic,
strikethrough, links and bare URLs. */

const MD_FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const MD_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const MD_RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const MD_QUOTE = /^ {0,3}> ?(.*)$/;
const MD_ITEM = /^( *)([-*+]|\d{1,9}[.)])[ \t]+(.*)$/;
const MD_TABLE_RULE = /^ *\|? *:?-+:? *(\| *:?-+:? *)*\|? *$/;
const MD_MAX_DEPTH = 12;

function renderMarkdown(source) {
  const root = h("div", { class: "md" });
  mdBlocks(String(source).replace(/\r\n?/g, "\n").split("\n"), root, 0);
  return root;
}

function mdBlocks(lines, parent, depth) {
  let i = 0;
  let paragraph = [];
  const flushParagraph = () => {
    if (paragraph.length) parent.append(mdInline(h("p"), paragraph.join("\n"), depth));
    paragraph = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (!line.trim()) {
      flushParagraph();
      i++;
    } else if ((m = MD_FENCE.exec(line))) {
      flushParagraph();
      const fence = m[1];
      const body = [];
      i++;
      while (i < lines.length && !isClosingFence(lines[i], fence)) body.push(lines[i++]);
      i++; // the closing fence (or the end: an unclosed fence runs to the end, as CommonMark says)
      const code = h("code", { text: body.join("\n") });
      if (m[2]) code.dataset.lang = m[2];
      parent.append(h("pre", { class: "md-code" }, code));
    } else if ((m = MD_HEADING.exec(line))) {
      flushParagraph();
      parent.append(mdInline(h("h" + m[1].length, { class: "md-h" }), m[2] || "", depth));
      i++;
    } else if (MD_RULE.test(line)) {
      flushParagraph();
      parent.append(h("hr"));
      i++;
    } else if (MD_QUOTE.test(line) && depth < MD_MAX_DEPTH) {
      flushParagraph();
      const inner = [];
      while (i < lines.length && (m = MD_QUOTE.exec(lines[i]))) {
        inner.push(m[1]);
        i++;
      }
      const quote = h("blockquote");
      mdBlocks(inner, quote, depth + 1);
      parent.append(quote);
    } else if (
      MD_ITEM.test(line) &&
      !(paragraph.length && /^\d/.test(line.trim()) && !/^1[.)]/.test(line.trim()))
    ) {
      flushParagraph();
      i = mdList(lines, i, parent, depth);
    } else if (
      line.includes("|") &&
      i + 1 < lines.length &&
      MD_TABLE_RULE.test(lines[i + 1]) &&
      lines[i + 1].includes("-")
    ) {
      flushParagraph();
      i = mdTable(lines, i, parent, depth);
    } else if (/^( {4}|\t)/.test(line) && !paragraph.length) {
      const body = [];
      while (i < lines.length && (/^( {4}|\t)/.test(lines[i]) || !lines[i].trim()))
        body.push(lines[i++].replace(/^( {4}|\t)/, ""));
      while (body.length && !body[body.length - 1].trim()) body.pop();
      parent.append(h("pre", { class: "md-code" }, h("code", { text: body.join("\n") })));
    } else {
      paragraph.push(line);
      i++;
    }
  }
  flushParagraph();
}

function isClosingFence(line, fence) {
  const trimmed = line.trim();
  return (
    trimmed.length >= fence.length &&
    trimmed[0] === fence[0] &&
    /^(`+|~+)$/.test(trimmed) &&
    line.search(/\S/) <= 3
  );
}

function mdList(lines, start, parent, depth) {
  const first = MD_ITEM.exec(lines[start]);
  const indent = first[1].length;
  const isOrdered = /\d/.test(first[2]);
  const list = h(isOrdered ? "ol" : "ul");
  if (isOrdered && parseInt(first[2], 10) !== 1) list.setAttribute("start", String(parseInt(first[2], 10)));
  let i = start;
  while (i < lines.length) {
    const m = MD_ITEM.exec(lines[i]);
    if (!m || m[1].length !== indent || /\d/.test(m[2]) !== isOrdered) break;
    const body = [m[3]];
    const contentIndent = m[1].length + m[2].length + 1;
    i++;
    // Continuation: indented lines (nested lists, wrapped text) and blank lines followed by them.
    while (i < lines.length) {
      const next = lines[i];
      const nested = MD_ITEM.exec(next);
      if (next.trim() && nested && nested[1].length <= indent) break;
      if (next.trim() && !/^\s/.test(next)) break;
      if (!next.trim() && !(i + 1 < lines.length && /^\s+\S/.test(lines[i + 1]))) break;
      body.push(next.slice(Math.min(contentIndent, next.search(/\S|$/))));
      i++;
    }
    const item = h("li");
    if (depth < MD_MAX_DEPTH && body.length > 1) mdBlocks(body, item, depth + 1);
    else mdInline(item, body.join("\n"), depth);
    list.append(item);
    while (i < lines.length && !lines[i].trim() && i + 1 < lines.length && MD_ITEM.test(lines[i + 1])) {
      const peek = MD_ITEM.exec(lines[i + 1]);
      if (peek[1].length !== indent) break;
      i++; // a blank line between items of the same list
    }
  }
  parent.append(list);
  return i;
}

function mdTable(lines, start, parent, depth) {
  const cells = (line) => {
    let row = line.trim();
    if (row.startsWith("|")) row = row.slice(1);
    if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
    return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
  };
  const aligns = cells(lines[start + 1]).map((rule) =>
    rule.startsWith(":") && rule.endsWith(":")
      ? "center"
      : rule.endsWith(":")
        ? "right"
        : rule.startsWith(":")
          ? "left"
          : "",
  );
  const headRow = h("tr");
  cells(lines[start]).forEach((cell, n) =>
    headRow.append(mdInline(h("th", { class: aligns[n] ? "al-" + aligns[n] : null }), cell, depth)),
  );
  const body = h("tbody");
  let i = start + 2;
  while (i < lines.length && lines[i].includes("|") && lines[i].trim()) {
    const row = h("tr");
    cells(lines[i]).forEach((cell, n) =>
      row.append(mdInline(h("td", { class: aligns[n] ? "al-" + aligns[n] : null }), cell, depth)),
    );
    body.append(row);
    i++;
  }
  parent.append(h("div", { class: "md-table" }, h("table", null, h("thead", null, headRow), body)));
  return i;
}

/* -- inline ----------------------------------------------------------------------------------- */

const MD_INLINE = new RegExp(
  [
    "(`+)([^`]|[^`][\\s\\S]*?[^`])\\1(?!`)", // 1,2 code span
    '(!?)\\[([^\\]\\n]{1,500})\\]\\(\\s*([^()\\s]+)(?:\\s+"[^"\\n]*")?\\s*\\)', // 3,4,5 link / image
    "\\*\\*(?=\\S)([\\s\\S]*?\\S)\\*\\*", // 6 bold
    "__(?=\\S)([\\s\\S]*?\\S)__(?![\\w])", // 7 bold
    "\\*(?=[^\\s*])([^*\\n]*?[^\\s*])\\*", // 8 italic
    "(?<![\\w])_(?=[^\\s_])([^_\\n]*?[^\\s_])_(?![\\w])", // 9 italic
    "~~(?=\\S)([\\s\\S]*?\\S)~~", // 10 strikethrough
    "(https?:\\/\\/[^\\s<>()\\[\\]]*[^\\s<>()\\[\\].,;:!?'\"])", // 11 bare URL
  ].join("|"),
  "g",
);

function mdInline(parent, text, depth) {
  if (depth > MD_MAX_DEPTH) {
    parent.append(shownText(text));
    return parent;
  }
  const re = new RegExp(MD_INLINE.source, "g");
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    if (m.index > last) mdText(parent, text.slice(last, m.index));
    if (m[1] !== undefined) {
      parent.append(
        h("code", {
          text: m[2].length > 2 && m[2][0] === " " && m[2].endsWith(" ") ? m[2].slice(1, -1) : m[2],
        }),
      );
    } else if (m[4] !== undefined) {
      mdLink(parent, m[3] === "!", m[4], m[5], depth);
    } else if (m[6] !== undefined || m[7] !== undefined) {
      parent.append(mdInline(h("strong"), m[6] !== undefined ? m[6] : m[7], depth + 1));
    } else if (m[8] !== undefined || m[9] !== undefined) {
      parent.append(mdInline(h("em"), m[8] !== undefined ? m[8] : m[9], depth + 1));
    } else if (m[10] !== undefined) {
      parent.append(mdInline(h("del"), m[10], depth + 1));
    } else if (m[11] !== undefined) {
      parent.append(safeLink(m[11], m[11]));
    }
    last = re.lastIndex;
  }
  if (last < text.length) mdText(parent, text.slice(last));
  return parent;
}

function mdText(parent, text) {
  const parts = text.replace(/\\([\\`*_{}\[\]()#+\-.!|~>])/g, "$1").split("\n");
  parts.forEach((part, n) => {
    if (n) parent.append(h("br"));
    if (part) parent.append(shownText(part));
  });
}

function mdLink(parent, isImage, label, url, depth) {
  if (isImage) {
    // Never fetched: the page has no network, and a trace must not make the browser call out.
    parent.append(h("span", { class: "md-img", title: url, text: "[" + t("md.image") + ": " + label + "]" }));
    return;
  }
  const link = safeLink(url, null);
  if (link.tagName === "A") {
    mdInline(link, label, depth + 1);
    parent.append(link);
  } else {
    parent.append(shownText("[" + label + "](" + url + ")")); // not a URL we link to: show the source as text
  }
}

function safeLink(url, label) {
  if (!/^(https?:\/\/|mailto:)/i.test(url)) return h("span", { text: label === null ? url : label });
  return h("a", {
    href: url,
    target: "_blank",
    rel: "noopener noreferrer nofollow",
    text: label === null ? null : label,
  });
}
