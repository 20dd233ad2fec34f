/* util.js: building DOM from text (never from HTML), number and time formats, translation.

Every string that comes from a trace reaches the page through h() / el.append(string) /
textContent, which create text nodes. Nothing in the viewer assigns innerHTML. */

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const key of Object.keys(props)) {
      const value = props[key];
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.replaceChildren(shownText(String(value)));
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  appendAll(el, children);
  return el;
}

function appendAll(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) appendAll(el, child);
    else el.append(child instanceof Node ? child : shownText(String(child)));
  }
  return el;
}

/* Characters that change how the text around them reads without being seen: bidi controls (the
"Trojan Source" trick, CVE-2021-42574), zero-width spaces and joiners of words, invisible math
operators, and Unicode tag characters (instructions hidden in a prompt). Each is shown as a visible
mark naming its code point (issue 15). ZWJ and ZWNJ are left alone: emoji sequences and Persian or
Indic text need them. */
const HIDDEN_CHARS =
  /[\u061C\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]|[\u{E0000}-\u{E007F}]/u;
const HIDDEN_CHARS_ALL = new RegExp(HIDDEN_CHARS.source, "gu");

/* `text` as it should be put in the page: the string itself, or, when it holds hidden characters,
a fragment where each one is a visible <span class="hidden-char">. */
function shownText(text) {
  if (!HIDDEN_CHARS.test(text)) return text;
  const fragment = document.createDocumentFragment();
  let done = 0;
  for (const match of text.matchAll(HIDDEN_CHARS_ALL)) {
    if (match.index > done) fragment.append(text.slice(done, match.index));
    const code = "U+" + match[0].codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
    const mark = document.createElement("span");
    mark.className = "hidden-char";
    mark.title = t("text.hiddenChar", { code });
    mark.textContent = code;
    fragment.append(mark);
    done = match.index + match[0].length;
  }
  if (done < text.length) fragment.append(text.slice(done));
  return fragment;
}

function clear(el) {
  el.replaceChildren();
  return el;
}

/* -- formats ---------------------------------------------------------------------------------- */

function fmtInt(n) {
  return n === null || n === undefined ? "—" : Math.round(n).toLocaleString("en-US");
}

function fmtTokens(n) {
  if (n === null || n === undefined) return "—";
  if (n < 1000) return String(n);
  if (n < 1e6) return (n / 1000).toFixed(n < 10000 ? 1 : 0) + "k";
  return (n / 1e6).toFixed(n < 1e7 ? 2 : 1) + "M";
}

function fmtCost(usd) {
  if (usd === null || usd === undefined) return "—";
  if (usd === 0) return "$0";
  if (usd < 0.01) return "$" + usd.toFixed(4);
  if (usd < 100) return "$" + usd.toFixed(usd < 1 ? 3 : 2);
  return "$" + Math.round(usd).toLocaleString("en-US");
}

/* The cost of several turns: never "$0" for turns whose model has no known price. */
function fmtCostTotal(recs, short) {
  let cost = 0;
  let priced = 0;
  let unpriced = 0;
  for (const rec of recs) {
    if (typeof rec.cost_usd === "number") {
      cost += rec.cost_usd;
      priced++;
    } else if (rec.usage) unpriced++;
  }
  if (!priced) return unpriced ? t("usage.noPrice") : fmtCost(0);
  const note = short ? "usage.unpricedShort" : "usage.unpriced";
  return fmtCost(cost) + (unpriced ? " " + t(note, { n: unpriced }) : "");
}

function fmtMs(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
  const s = Math.round(ms / 1000);
  return Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s";
}

function fmtBytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB";
  return (n / 1024 / 1024).toFixed(1) + " MB";
}

/* The formats of toLocaleTimeString("en-GB", { hour12: false }) and toLocaleDateString("en-CA"), made
once: those calls build a formatter each time, 170 ms for the rows of a 1,000-turn session. */
const CLOCK_FORMAT = new Intl.DateTimeFormat("en-GB", {
  hour12: false,
  hour: "numeric",
  minute: "numeric",
  second: "numeric",
});
const DAY_FORMAT = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "numeric", day: "numeric" });

function fmtClock(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (isNaN(date.getTime())) return String(iso);
  return CLOCK_FORMAT.format(date);
}

function fmtDateTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (isNaN(date.getTime())) return String(iso);
  return DAY_FORMAT.format(date) + " " + CLOCK_FORMAT.format(date);
}

/* A turn has one number wherever people or links see it: "Turn 150", "#150" in the sidebar, data-turn,
#turn=150, the Markdown report. It is the 0-based index the page keeps internally (store.recs, turn.index,
turn.prev) plus one; convert only at those edges (issue 10: #turn=150 used to open "Turn 151"). */
function turnNumber(index) {
  return index + 1;
}

/* The index of the turn numbered `number`, or null for what is no turn number (0, NaN). */
function turnIndexOf(number) {
  return Number.isInteger(number) && number >= 1 ? number - 1 : null;
}

function turnLabel(index) {
  return "#" + turnNumber(index);
}

function prettyJson(value) {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch (err) {
    return String(value);
  }
}

function clip(text, max) {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

/* -- translation ------------------------------------------------------------------------------ */

const I18N = { strings: { en: {} }, lang: "en" };

function t(key, vars) {
  const table = I18N.strings[I18N.lang] || {};
  let text = table[key] !== undefined ? table[key] : I18N.strings.en[key];
  if (text === undefined) text = key;
  if (vars) text = text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  return text;
}

function plural(n, one, many) {
  return t(n === 1 ? one : many, { n: fmtInt(n) });
}

/* -- small browser helpers -------------------------------------------------------------------- */

function storageGet(key) {
  try {
    return window.localStorage.getItem("claude-tap." + key);
  } catch (err) {
    return null; // storage can be off (privacy settings, some file:// setups)
  }
}

function storageSet(key, value) {
  try {
    window.localStorage.setItem("claude-tap." + key, value);
  } catch (err) {
    /* not remembered: fine */
  }
}

function flash(el) {
  el.classList.remove("flash");
  void el.offsetWidth; // restart the animation when the same element flashes twice
  el.classList.add("flash");
}

function colorIndex(text, buckets) {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) | 0;
  return Math.abs(hash) % buckets;
}
