/* diff.js: shortest edit scripts (Myers' O(ND) algorithm), line diffs and word diffs.

editScript(a, b) compares two arrays with === and returns runs [[op, count], ...] where op is
"=" (in both), "-" (only in a) or "+" (only in b); between two "=" runs, "-" comes before "+".
The edits are minimal (an LCS). Common prefix and suffix are trimmed first; past DIFF_MAX_EDITS
differences it gives up on minimality and reports the middle as replaced, so a diff of two
unrelated megabyte prompts cannot freeze the page. */

const DIFF_MAX_EDITS = 4000;

function editScript(a, b, maxEdits) {
  const limit = maxEdits === undefined ? DIFF_MAX_EDITS : maxEdits;
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tailA = a.length;
  let tailB = b.length;
  while (tailA > head && tailB > head && a[tailA - 1] === b[tailB - 1]) {
    tailA--;
    tailB--;
  }
  const runs = [];
  pushRun(runs, "=", head);
  const middle = myers(a, head, tailA, b, head, tailB, limit);
  if (middle) for (const run of middle) pushRun(runs, run[0], run[1]);
  else {
    pushRun(runs, "-", tailA - head);
    pushRun(runs, "+", tailB - head);
  }
  pushRun(runs, "=", a.length - tailA);
  const ordered = deletionsFirst(runs);
  ordered.isApproximate = !middle;
  return ordered;
}

/* Between two equal runs, all removals then all additions: one change reads as "-" then "+". */
function deletionsFirst(runs) {
  const out = [];
  let dels = 0;
  let ins = 0;
  const flush = () => {
    pushRun(out, "-", dels);
    pushRun(out, "+", ins);
    dels = ins = 0;
  };
  for (const [op, count] of runs) {
    if (op === "=") {
      flush();
      pushRun(out, "=", count);
    } else if (op === "-") dels += count;
    else ins += count;
  }
  flush();
  return out;
}

function pushRun(runs, op, count) {
  if (count <= 0) return;
  const last = runs[runs.length - 1];
  if (last && last[0] === op) last[1] += count;
  else runs.push([op, count]);
}

function myers(a, a0, a1, b, b0, b1, limit) {
  const n = a1 - a0;
  const m = b1 - b0;
  if (n === 0 || m === 0)
    return [
      ["-", n],
      ["+", m],
    ].filter((run) => run[1] > 0);
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace = [];
  let found = -1;
  for (let d = 0; d <= max && d <= limit; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2)); // V before round d, for k in [-d-1, d+1]
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1])
          ? v[offset + k + 1]
          : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[a0 + x] === b[b0 + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    if (found >= 0) break;
  }
  if (found < 0) return null;
  // Walk back from (n, m) through the saved rounds, collecting single steps, then compress.
  const steps = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const saved = trace[d];
    const at = (k) => saved[k + d + 1];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      steps.push("=");
      x--;
      y--;
    }
    if (x === prevX) {
      steps.push("+");
      y--;
    } else {
      steps.push("-");
      x--;
    }
  }
  while (x > 0 && y > 0) {
    steps.push("=");
    x--;
    y--;
  }
  const runs = [];
  for (let i = steps.length - 1; i >= 0; i--) pushRun(runs, steps[i], 1);
  return runs;
}

/* -- lines ------------------------------------------------------------------------------------ */

function splitLines(text) {
  if (text === "") return [];
  return text.replace(/\r\n?/g, "\n").split("\n");
}

/* Rows of a line diff: {op: "=", "-" or "+", text, a: line number in a, b: line number in b}.
Lines are mapped to integers first, so the comparison is of numbers. */
function diffLines(textA, textB) {
  const linesA = splitLines(textA);
  const linesB = splitLines(textB);
  const ids = new Map();
  const id = (line) => {
    let value = ids.get(line);
    if (value === undefined) ids.set(line, (value = ids.size));
    return value;
  };
  const runs = editScript(linesA.map(id), linesB.map(id));
  const rows = [];
  let i = 0;
  let j = 0;
  for (const [op, count] of runs) {
    for (let c = 0; c < count; c++) {
      if (op === "=") rows.push({ op, text: linesA[i++], a: i, b: ++j });
      else if (op === "-") rows.push({ op, text: linesA[i++], a: i, b: null });
      else rows.push({ op, text: linesB[j++], a: null, b: j });
    }
  }
  rows.isApproximate = runs.isApproximate;
  return rows;
}

/* -- words ------------------------------------------------------------------------------------ */

const WORD_TOKEN =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]|[\p{L}\p{N}_]+|\s+|[^\s\p{L}\p{N}_]/gu;

function tokenize(text) {
  return text.match(WORD_TOKEN) || [];
}

/* Two lines as segments [{text, changed}] each, changed marking the words that differ. */
function diffWords(lineA, lineB) {
  const a = tokenize(lineA);
  const b = tokenize(lineB);
  const runs = editScript(a, b, 600);
  const left = [];
  const right = [];
  let i = 0;
  let j = 0;
  for (const [op, count] of runs) {
    if (op === "=") {
      const text = a.slice(i, i + count).join("");
      pushSegment(left, text, false);
      pushSegment(right, text, false);
      i += count;
      j += count;
    } else if (op === "-") {
      pushSegment(left, a.slice(i, i + count).join(""), true);
      i += count;
    } else {
      pushSegment(right, b.slice(j, j + count).join(""), true);
      j += count;
    }
  }
  return { left, right };
}

function pushSegment(segments, text, changed) {
  if (!text) return;
  const last = segments[segments.length - 1];
  // A lone space between two changed words reads better as part of the change.
  if (last && last.changed === changed) last.text += text;
  else if (
    last &&
    changed &&
    last.changed === false &&
    /^\s+$/.test(last.text) &&
    segments.length > 1 &&
    segments[segments.length - 2].changed
  ) {
    segments.pop();
    segments[segments.length - 1].text += last.text + text;
  } else segments.push({ text, changed });
}

/* -- hunks ------------------------------------------------------------------------------------ */

/* Rows grouped for display: changed rows with `context` unchanged rows around them; longer
unchanged stretches become {op: "skip", count, rows}. */
function diffHunks(rows, context) {
  const keep = new Uint8Array(rows.length);
  rows.forEach((row, n) => {
    if (row.op === "=") return;
    for (let k = Math.max(0, n - context); k <= Math.min(rows.length - 1, n + context); k++) keep[k] = 1;
  });
  const out = [];
  let skipped = [];
  rows.forEach((row, n) => {
    if (keep[n]) {
      if (skipped.length) out.push({ op: "skip", count: skipped.length, rows: skipped });
      skipped = [];
      out.push(row);
    } else skipped.push(row);
  });
  if (skipped.length) out.push({ op: "skip", count: skipped.length, rows: skipped });
  return out;
}
