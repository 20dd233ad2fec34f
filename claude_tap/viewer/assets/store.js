/* store.js: the session's data in the page, mirroring claude_tap/viewer/payload.py.

The payload keeps each distinct message, system prompt, tool list and request-body value once
(and each long string shared between them once); a turn record holds references. turnAt(i) puts
a full Turn together only when it is shown. Live turns arrive whole (viewer/live.py); addTurn
interns them the same way, so the rest of the page sees one representation. */

const store = {
  info: {},
  messages: [],
  systems: [],
  toolsets: [],
  values: [],
  recs: [], // payload turn records by turn index (sparse while live turns arrive out of order)
  order: [], // turn indexes present, ascending
  derived: [], // per turn index: facts the sidebar needs (prompt, tools used, tokens, error)
  keyMaps: null, // JSON text -> position, per table; built on the first live turn
  promptCache: new Map(), // message ref -> its user prompt text or null
  textCache: new Map(), // "m12" / "s3" / "t1" / "x<turn>" -> lower-case searchable text
};

async function decodePayload(base64) {
  let bytes;
  if (typeof Uint8Array.fromBase64 === "function") bytes = Uint8Array.fromBase64(base64);
  else {
    const binary = atob(base64);
    bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  }
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
}

function loadPayload(payload) {
  restoreStrings(payload);
  store.info = payload.info || {};
  store.messages = payload.messages;
  store.systems = payload.systems;
  store.toolsets = payload.toolsets;
  store.values = payload.values;
  for (const rec of payload.turns) putRecord(rec);
  loadAnalysis(payload.analysis); // threads.js
}

/* Puts each long string shared between tables back where it was (payload.py: "long strings"). */
function restoreStrings(payload) {
  const refs = payload.string_refs || {};
  for (const table of Object.keys(refs)) {
    const entries = payload[table];
    for (const [n, path, position] of refs[table]) {
      if (!path.length) {
        entries[n] = payload.strings[position];
        continue;
      }
      let parent = entries[n];
      for (let k = 0; k < path.length - 1; k++) parent = parent[path[k]];
      parent[path[path.length - 1]] = payload.strings[position];
    }
  }
}

function putRecord(rec) {
  const index = rec.index;
  const isNew = !store.recs[index];
  store.recs[index] = rec;
  store.derived[index] = deriveFacts(rec);
  store.textCache.delete("x" + index);
  if (isNew) {
    let at = store.order.length;
    while (at > 0 && store.order[at - 1] > index) at--;
    store.order.splice(at, 0, index);
  }
  return isNew;
}

function turnAt(index) {
  const rec = store.recs[index];
  if (!rec) return null;
  const turn = Object.assign({}, rec);
  delete turn.system_ref;
  delete turn.message_refs;
  delete turn.tools_ref;
  delete turn.output_ref;
  delete turn.request_parts;
  turn.system = store.systems[rec.system_ref] || [];
  turn.messages = rec.message_refs.map((ref) => store.messages[ref]);
  turn.tools = store.toolsets[rec.tools_ref] || [];
  turn.output = (store.messages[rec.output_ref] || { content: [] }).content;
  turn.request_body = requestBody(rec);
  return turn;
}

function requestBody(rec) {
  if (!rec.request_parts) return rec.request_body === undefined ? null : rec.request_body;
  const body = {};
  for (const [key, ref] of rec.request_parts)
    body[key] = Array.isArray(ref) ? ref.map((r) => store.values[r]) : store.values[ref];
  return body;
}

/* -- live turns ------------------------------------------------------------------------------- */

function addTurn(turn) {
  if (!store.keyMaps) {
    const index = (table) => new Map(table.map((item, n) => [JSON.stringify(item), n]));
    store.keyMaps = {
      messages: index(store.messages),
      systems: index(store.systems),
      toolsets: index(store.toolsets),
      values: index(store.values),
    };
  }
  const rec = {};
  for (const key of Object.keys(turn)) {
    if (!["system", "messages", "tools", "output", "request_body"].includes(key)) rec[key] = turn[key];
  }
  rec.system_ref = intern("systems", turn.system || []);
  rec.message_refs = (turn.messages || []).map((message) => intern("messages", message));
  rec.tools_ref = intern("toolsets", turn.tools || []);
  rec.output_ref = intern("messages", { role: "assistant", content: turn.output || [] });
  const body = turn.request_body;
  if (body && typeof body === "object" && !Array.isArray(body)) {
    rec.request_parts = Object.keys(body).map((key) => {
      const value = body[key];
      return [
        key,
        Array.isArray(value) ? value.map((item) => intern("values", item)) : intern("values", value),
      ];
    });
  } else rec.request_body = body === undefined ? null : body;
  return putRecord(rec);
}

function intern(table, value) {
  const key = JSON.stringify(value);
  const map = store.keyMaps[table];
  let position = map.get(key);
  if (position === undefined) {
    position = store[table].length;
    store[table].push(value);
    map.set(key, position);
  }
  return position;
}

/* -- facts for the sidebar -------------------------------------------------------------------- */

/* A tool result this large (UTF-8 bytes) badges its turn's row "oversized": about 12,000 tokens,
enough to crowd a context window and worth a look (docs/viewer.md). */
const OVERSIZED_RESULT_BYTES = 50 * 1024;

function deriveFacts(rec) {
  const output = (store.messages[rec.output_ref] || { content: [] }).content;
  const tools = [];
  for (const block of output)
    if (block.type === "tool_use" && !tools.includes(block.name)) tools.push(block.name);
  const status = rec.status;
  const prompt = userPrompt(rec);
  return {
    prompt,
    toolsUsed: tools,
    tokens: rec.usage ? rec.usage.total_tokens : null,
    isError:
      !isProbeMiss(rec) &&
      (Boolean(rec.error) || (typeof status === "number" && status >= 400) || rec.complete === false),
    model: rec.model || "",
    snippet: firstCommand(output) || prompt,
    newCount: newMessageCount(rec),
    largestResult: largestNewResult(rec),
  };
}

/* A probe the server answered "not here" (its model list, a version, Ollama's tags) is the answer to
a question, not a failed call: the rule of claude_tap/normalize/failures.py, which the exit summary,
the exports and the session index use (a test holds the two to the same cases). */
const PROBE_MISS_STATUSES = [404, 405, 501];
const READ_PROBES = ["models", "tags", "props", "version", "health"];

function isProbeMiss(rec) {
  if (!PROBE_MISS_STATUSES.includes(rec.status)) return false;
  const segments = String(rec.path || "").split("?")[0].replace(/\/+$/, "").split("/");
  const last = segments[segments.length - 1];
  if (last === "show") return true;
  if (!["GET", "HEAD"].includes(String(rec.method || "").toUpperCase())) return false;
  return READ_PROBES.includes(last) || (segments.length >= 2 && segments[segments.length - 2] === "models");
}

/* What the call did first, in a few words: the first tool call's command, path or query. */
function firstCommand(output) {
  const call = output.find((block) => block.type === "tool_use");
  if (!call) return "";
  const input = call.input && typeof call.input === "object" ? call.input : {};
  const keys = ["command", "cmd", "file_path", "path", "pattern", "query", "url", "description", "prompt"];
  let value = keys.map((key) => input[key]).find((v) => typeof v === "string" && v.trim());
  if (value === undefined) value = Object.values(input).find((v) => typeof v === "string" && v.trim());
  if (Array.isArray(input.command)) value = input.command.join(" "); // Codex: ["bash", "-lc", "..."]
  return clip(call.name + ": " + String(value || "").replace(/\s+/g, " "), 160);
}

/* Messages this turn sent that the previous turn of its conversation did not (all, without one). */
function newMessageCount(rec) {
  const prev = rec.prev !== null && rec.prev !== undefined ? store.recs[rec.prev] : null;
  if (!prev) return rec.message_refs.length;
  const seen = new Set(prev.message_refs);
  return rec.message_refs.filter((ref) => !seen.has(ref)).length;
}

/* The size in bytes of the largest tool result in the messages after the last assistant message. */
function largestNewResult(rec) {
  let largest = 0;
  for (let n = rec.message_refs.length - 1; n >= 0; n--) {
    const message = store.messages[rec.message_refs[n]];
    if (!message || message.role === "assistant" || message.role === "model") break;
    for (const block of message.content || [])
      if (block.type === "tool_result") largest = Math.max(largest, resultBytes(block));
  }
  return largest;
}

function resultBytes(block) {
  let bytes = 0;
  for (const inner of block.content || []) {
    const text = inner.type === "text" ? inner.text || "" : inner.type === "image" ? inner.data || "" : "";
    // UTF-8 takes 1 to 3 bytes per UTF-16 unit: measure only what could reach the threshold.
    bytes += text.length * 3 < OVERSIZED_RESULT_BYTES ? text.length : new TextEncoder().encode(text).length;
  }
  return bytes;
}

/* What the person asked: the text of the latest user message that is not only tool results. */
function userPrompt(rec) {
  const refs = rec.message_refs;
  for (let n = refs.length - 1; n >= 0; n--) {
    const prompt = promptOf(refs[n]);
    if (prompt) return prompt;
  }
  return "";
}

function promptOf(ref) {
  if (store.promptCache.has(ref)) return store.promptCache.get(ref);
  const message = store.messages[ref];
  let prompt = null;
  if (message && message.role === "user") {
    const texts = (message.content || [])
      .filter((b) => b.type === "text" && b.text && b.text.trim())
      .map((b) => b.text.trim());
    const own = texts.filter(
      (text) => !/^<(system-reminder|environment_context|user_instructions|permissions)/.test(text),
    );
    const chosen = own.length ? own : texts;
    if (chosen.length) prompt = clip(chosen.join(" ").replace(/\s+/g, " "), 240);
  }
  store.promptCache.set(ref, prompt);
  return prompt;
}

/* -- text for search -------------------------------------------------------------------------- */

function blockText(block) {
  switch (block.type) {
    case "text":
    case "thinking":
      return block.text || "";
    case "tool_use":
      return (block.name || "") + " " + block.id + " " + prettyJson(block.input);
    case "tool_result":
      return (block.tool_use_id || "") + " " + (block.content || []).map(blockText).join("\n");
    case "image":
      return (block.media_type || "") + " " + (block.url || "");
    default:
      return (block.label || "") + " " + prettyJson(block.raw);
  }
}

function messageText(message) {
  return (message.role || "") + "\n" + (message.content || []).map(blockText).join("\n");
}

function cachedText(key, make) {
  let text = store.textCache.get(key);
  if (text === undefined) store.textCache.set(key, (text = make().toLowerCase()));
  return text;
}

function turnMatches(index, query) {
  const rec = store.recs[index];
  if (!rec) return false;
  if (
    cachedText("s" + rec.system_ref, () =>
      (store.systems[rec.system_ref] || []).map(blockText).join("\n"),
    ).includes(query)
  )
    return true;
  for (const ref of rec.message_refs)
    if (cachedText("m" + ref, () => messageText(store.messages[ref])).includes(query)) return true;
  if (cachedText("m" + rec.output_ref, () => messageText(store.messages[rec.output_ref])).includes(query))
    return true;
  if (cachedText("t" + rec.tools_ref, () => prettyJson(store.toolsets[rec.tools_ref])).includes(query))
    return true;
  return cachedText("x" + index, () => extraText(rec)).includes(query);
}

function extraText(rec) {
  const parts = [rec.model || "", rec.url || "", rec.path || "", rec.error || "", rec.stop_reason || ""];
  parts.push(prettyJson(rec.params), prettyJson(rec.request_headers), prettyJson(rec.response_headers));
  parts.push(prettyJson(rec.response_body));
  for (const event of rec.events || []) parts.push((event.event || "") + " " + event.data);
  return parts.join("\n");
}
