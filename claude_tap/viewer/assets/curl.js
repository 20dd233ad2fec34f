/* curl.js: a turn's request as a runnable curl command.

Secrets were redacted before the trace was written ([REDACTED:<8 hex>], capture/redact.py). Each
redacted value becomes a shell variable named for what it was ($ANTHROPIC_API_KEY for an
Anthropic x-api-key, $OPENAI_API_KEY for an OpenAI bearer token, ...), so the command runs once
the user exports their own key, and a copied command never carries a stand-in as if it were real. */

const REDACTED = /\[REDACTED:[0-9a-f]{8}\]/g;
const CURL_SKIP_HEADERS = new Set([
  "host",
  "content-length",
  "connection",
  "transfer-encoding",
  "accept-encoding",
  "keep-alive",
  "upgrade",
  "te",
]);
const PROVIDER_PREFIX = {
  anthropic: "ANTHROPIC",
  openai: "OPENAI",
  google: "GEMINI",
  moonshot: "MOONSHOT",
  deepseek: "DEEPSEEK",
  cursor: "CURSOR",
};

function curlFor(turn) {
  if (turn.transport === "transcript" || !turn.url) return null;
  const needed = new Set();
  const method = plain(turn.method || "GET").toUpperCase();
  const url = plain(turn.url).replace(/([?&])([^=&#]+)=\[REDACTED:[0-9a-f]{8}\]/g, (m, sep, name) => {
    const variable = queryVariable(name, turn.provider);
    needed.add(variable);
    return sep + name + "=" + "\u0000" + variable + "\u0000";
  });
  const lines = [
    "curl -sS" +
      (turn.transport === "sse" ? " -N" : "") +
      (method !== "GET" ? " -X " + shellToken(method) : "") +
      " " +
      shellWord(url),
  ];
  for (const [rawName, value] of Object.entries(turn.request_headers || {})) {
    const name = plain(rawName);
    if (CURL_SKIP_HEADERS.has(name.toLowerCase())) continue;
    const withVars = plain(value).replace(REDACTED, () => {
      const variable = headerVariable(name, turn.provider);
      needed.add(variable);
      return "\u0000" + variable + "\u0000";
    });
    lines.push("  -H " + shellWord(name + ": " + withVars));
  }
  const body = turn.request_body;
  let heredoc = null;
  if (body !== null && body !== undefined && method !== "GET") {
    let text = plain(typeof body === "string" ? body : JSON.stringify(body));
    text = text.replace(/"([^"\\]{1,64})":"\[REDACTED:[0-9a-f]{8}\]"/g, (m, key) => {
      const variable = envName(key);
      needed.add(variable);
      return '"' + key + '":"\u0000' + variable + '\u0000"';
    });
    text = text.replace(REDACTED, () => {
      needed.add("SECRET");
      return "\u0000SECRET\u0000";
    });
    const delimiter =
      ["JSON", "JSON_BODY", "END_OF_BODY"].find((word) => !text.split("\n").includes(word)) ||
      "END_" + Date.now();
    lines.push("  --data-binary @- <<" + (text.includes("\u0000") ? delimiter : "'" + delimiter + "'"));
    heredoc = heredocBody(text) + "\n" + delimiter;
  }
  const head = needed.size
    ? "# " + t("curl.needs") + ": " + [...needed].map((v) => "$" + v).join(" ") + "\n"
    : "";
  return head + lines.join(" \\\n") + (heredoc ? "\n" + heredoc : "");
}

/* Text from the trace with its NUL characters taken out: \u0000 brackets the variables below, so a
NUL in a crafted trace could otherwise open a ${...} of its own ("${x:-$(rm ...)}" runs code), and
no shell argument can hold a NUL anyway. */
function plain(value) {
  return String(value).replace(/\u0000/g, "\ufffd");
}

/* A word that needs no quotes stays as it is (POST); anything else is quoted as `shellWord` does. */
function shellToken(text) {
  return /^[A-Za-z0-9_.-]+$/.test(text) ? text : shellWord(text);
}

/* A word for the shell: single quotes when there is no variable in it, else double quotes with
everything but the variables escaped. \u0000 brackets a variable name in the text. */
function shellWord(text) {
  if (!text.includes("\u0000")) return "'" + text.replace(/'/g, "'\\''") + "'";
  return (
    '"' +
    text
      .split("\u0000")
      .map((part, n) => (n % 2 ? "${" + part + "}" : part.replace(/[\\"$`]/g, "\\$&")))
      .join("") +
    '"'
  );
}

/* An unquoted here-document expands $, ` and \\, so only variables may stay unescaped. */
function heredocBody(text) {
  if (!text.includes("\u0000")) return text;
  return text
    .split("\u0000")
    .map((part, n) => (n % 2 ? "${" + part + "}" : part.replace(/[\\$`]/g, "\\$&")))
    .join("");
}

function apiKeyVariable(provider) {
  const prefix = PROVIDER_PREFIX[provider] || (provider && provider !== "unknown" ? envName(provider) : "");
  return prefix ? prefix + "_API_KEY" : "API_KEY";
}

function headerVariable(name, provider) {
  const lower = name.toLowerCase();
  if (lower === "authorization" && provider === "anthropic") return "ANTHROPIC_AUTH_TOKEN";
  if (["authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key"].includes(lower))
    return apiKeyVariable(provider);
  return envName(name);
}

function queryVariable(name, provider) {
  return /^(key|api[-_]?key)$/i.test(name) ? apiKeyVariable(provider) : envName(name);
}

function envName(text) {
  const name = String(text)
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return /^[A-Z_]/.test(name) ? name || "SECRET" : "_" + name;
}

function copyText(text, message) {
  const done = () => toast(message || t("toast.copied"));
  const fallback = () => {
    const area = h("textarea", { class: "offscreen" });
    area.value = text;
    document.body.append(area);
    area.select();
    try {
      document.execCommand("copy");
      done();
    } catch (err) {
      toast(t("toast.copyFailed"));
    }
    area.remove();
  };
  if (navigator.clipboard && navigator.clipboard.writeText)
    navigator.clipboard.writeText(text).then(done, fallback);
  else fallback();
}
