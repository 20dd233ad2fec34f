"""Viewer benchmark: a long synthetic session through read -> normalize -> trace.html -> Chromium.

    python bench/bench_viewer.py [--turns 200,1000] [--runs 3] [--keep DIR]

For each session size (bench/make_session.py: 200 turns at about 120 MB of raw JSONL, and 1,000
turns) it prints: raw JSONL and trace.jsonl.zst sizes, the time to read and to normalize the trace
(wall and CPU: the machine may be shared), the time to render and the size of trace.html; then, in
headless Chromium opening the file:// page, the time from navigation start until
`body[data-ready="true"]` (sidebar interactive) and the time to show a turn after a click on its
sidebar row, measured inside the page with performance.now() from the click to the first frame
after the detail panel was replaced. Every figure is the median of `--runs` runs.

After the table it explains where the time and bytes go, whatever the outcome: what the payload is
made of (Python side), how long the page takes to base64-decode, gunzip and JSON.parse it, and a CPU
profile of one page load (inclusive time of the viewer's boot phases, top self time).

Targets (issue "Viewer"): trace.html <= 3 MB for 200 turns; ready <= 1.0 s (200 turns) and
<= 2.5 s (1,000 turns); a turn's detail <= 200 ms after its click. Not a pass/fail test: it
always exits 0 and lists the targets missed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from make_session import make_session

from claude_tap.normalize.session import normalize_records
from claude_tap.store.reader import read_trace
from claude_tap.viewer.html import render_html
from claude_tap.viewer.payload import build_payload

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TARGET_MB = {200: 120.0}  # raw JSONL size per case; other turn counts take what the generator gives
HTML_LIMIT_BYTES = {200: 3_000_000}
READY_LIMIT_MS = {200: 1000.0, 1000: 2500.0}
CLICK_LIMIT_MS = 200.0
PAGE_TIMEOUT_MS = 120_000
MB = 1e6

# Installed before the page's own script: notes when <body data-ready> turns "true", and the first
# frame after that (a timer queued from requestAnimationFrame runs once the frame is painted).
READY_PROBE = """
(() => {
  const bench = (window.__bench = {});
  new MutationObserver(() => {
    if (bench.ready_ms !== undefined || !document.body || document.body.dataset.ready !== "true") return;
    bench.ready_ms = performance.now();
    requestAnimationFrame(() => setTimeout(() => (bench.painted_ms = performance.now()), 0));
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-ready"] });
})();
"""

# A function, not an expression: Playwright evaluates a string with eval(), which the page's CSP forbids.
PAINTED = "() => window.__bench !== undefined && window.__bench.painted_ms !== undefined"

# Clicks one sidebar row inside the page. handler_ms: the click's synchronous work (select and
# render the detail); frame_ms: until the first frame after it is painted. `shown` checks that the
# detail panel was replaced and now shows that turn.
CLICK_PROBE = """
async (index) => {
  const nextFrame = () => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  const number = String(index + 1); // rows carry the number the page shows ("Turn 1" is index 0)
  const row = document.querySelector('#turn-list [data-turn="' + number + '"]');
  if (!row) return { shown: false, why: "no sidebar row" };
  row.scrollIntoView({ block: "nearest" });
  await nextFrame();
  const detail = document.getElementById("detail");
  let replaced = false;
  const observer = new MutationObserver(() => (replaced = true));
  observer.observe(detail, { childList: true });
  const start = performance.now();
  row.click();
  const handlerEnd = performance.now();
  await nextFrame();
  const frameEnd = performance.now();
  observer.disconnect();
  const title = detail.querySelector(".detail-head h2");
  const selected = document.querySelector("#turn-list .row.selected");
  const shown = replaced && selected !== null && selected.dataset.turn === number
    && title !== null && title.textContent.includes(number);
  return { shown, handler_ms: handlerEnd - start, frame_ms: frameEnd - start };
}
"""

# The page's decode path, step by step (the same calls as decodePayload in assets/store.js).
DECODE_PROBE = """
async () => {
  const text = document.getElementById("tap-payload").textContent.trim();
  const t0 = performance.now();
  let bytes;
  const native = typeof Uint8Array.fromBase64 === "function";
  if (native) bytes = Uint8Array.fromBase64(text);
  else {
    const binary = atob(text);
    bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  }
  const t1 = performance.now();
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  const json = await new Response(stream).text();
  const t2 = performance.now();
  JSON.parse(json);
  const t3 = performance.now();
  const nav = performance.getEntriesByType("navigation")[0];
  return {
    native_base64: native, base64_chars: text.length, gzip_bytes: bytes.length, json_chars: json.length,
    base64_ms: t1 - t0, gunzip_ms: t2 - t1, parse_ms: t3 - t2,
    response_end_ms: nav.responseEnd, dom_interactive_ms: nav.domInteractive,
    dom_content_loaded_ms: nav.domContentLoadedEventEnd, load_ms: nav.loadEventEnd,
    sidebar_rows: document.querySelectorAll("#turn-list .row").length,
    dom_nodes: document.getElementsByTagName("*").length,
  };
}
"""
TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "blink", "loading"]
# Main-thread trace events worth naming (some nest: EvaluateScript runs inside ParseHTML).
TIMELINE_EVENTS = (
    "TextResourceDecoder::Decode",
    "ParseHTML",
    "EvaluateScript",
    "v8.compile",
    "v8.run",
    "FunctionCall",
    "DecompressionStream Inflate",
    "UpdateLayoutTree",
    "Layout",
    "Paint",
    "MinorGC",
    "MajorGC",
)
BOOT_PHASES = (
    "boot",
    "decodePayload",
    "loadPayload",
    "putRecord",
    "deriveFacts",
    "renderHeader",
    "buildFilterOptions",
    "renderSidebar",
    "turnRow",
    "select",
    "renderDetail",
    "applyLanguage",
)


@dataclass
class CaseResult:
    turns: int
    raw_bytes: int = 0
    zst_bytes: int = 0
    records: int = 0
    generate_s: float = 0.0
    read_s: float = 0.0
    read_cpu_s: float = 0.0
    normalize_s: float = 0.0
    normalize_cpu_s: float = 0.0
    render_s: float = 0.0
    html_bytes: int = 0
    ready_ms: float = 0.0
    painted_ms: float = 0.0
    clicks: dict[int, tuple[float, float]] = field(default_factory=dict)  # turn -> (handler, frame) ms
    click_failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


# -- Python side ------------------------------------------------------------------------------------


def measure_python(result: CaseResult, trace: Path, html: Path, runs: int) -> tuple[Any, list[Any]]:
    """Read, normalize and render `runs` times; write trace.html; return the last (info, turns)."""
    wall: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    info: Any = None
    turns: list[Any] = []
    page_text = ""
    for _ in range(runs):
        info = turns = None  # free the previous run before the next one grows
        (records, _report), wall_s, cpu_s = timed(lambda: read_trace(trace))
        wall["read"].append(wall_s)
        cpu["read"].append(cpu_s)
        (info, turns), wall_s, cpu_s = timed(lambda records=records: normalize_records(records))
        wall["normalize"].append(wall_s)
        cpu["normalize"].append(cpu_s)
        del records
        page_text, wall_s, _ = timed(lambda info=info, turns=turns: render_html(info, turns))
        wall["render"].append(wall_s)
    html.write_text(page_text, encoding="utf-8")
    result.read_s, result.read_cpu_s = median(wall["read"]), median(cpu["read"])
    result.normalize_s, result.normalize_cpu_s = median(wall["normalize"]), median(cpu["normalize"])
    result.render_s, result.html_bytes = median(wall["render"]), html.stat().st_size
    return info, turns


def payload_breakdown(info: Any, turns: list[Any]) -> list[tuple[str, int, int]]:
    """(part, JSON bytes, gzip bytes alone) of the viewer payload, largest first."""
    payload = build_payload(info, turns)
    parts: dict[str, Any] = {key: value for key, value in payload.items() if isinstance(value, list)}
    parts.pop("turns")
    by_field: dict[str, list[Any]] = defaultdict(list)
    for compact in payload["turns"]:
        for key, value in compact.items():
            by_field[key].append(value)
    big_fields = (
        "events",
        "response_body",
        "request_headers",
        "response_headers",
        "request_parts",
        "message_refs",
    )
    for key in big_fields:
        parts[f"turns[].{key}"] = by_field.pop(key, [])
    parts["turns[] (other fields)"] = [
        dict(zip(by_field, values, strict=True)) for values in zip(*by_field.values(), strict=True)
    ]
    sizes = []
    for name, value in parts.items():
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
        sizes.append((name, len(data), len(gzip.compress(data, compresslevel=6))))
    return sorted(sizes, key=lambda item: -item[1])


# -- browser side ---------------------------------------------------------------------------------


def click_targets(turns: list[Any]) -> list[int]:
    """The second turn, the middle one, the one with the longest conversation, the last."""
    count = len(turns)
    longest = max(range(count), key=lambda i: len(turns[i]["messages"]))
    return sorted({min(1, count - 1), count // 2, longest, count - 1})


def open_page(browser: Browser, url: str) -> tuple[Any, Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.add_init_script(READY_PROBE)
    page.goto(url)
    page.wait_for_function(PAINTED)
    return context, page


def measure_browser(result: CaseResult, browser: Browser, html: Path, targets: list[int], runs: int) -> None:
    ready, painted = [], []
    clicks: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for _ in range(runs):
        context, page = open_page(browser, html.as_uri())
        bench = page.evaluate("window.__bench")
        ready.append(bench["ready_ms"])
        painted.append(bench["painted_ms"])
        for index in targets:
            outcome = page.evaluate(CLICK_PROBE, index)
            if not outcome["shown"]:
                result.click_failures.append(
                    f"turn {index}: detail not shown ({outcome.get('why', 'wrong panel')})"
                )
                continue
            clicks[index].append((outcome["handler_ms"], outcome["frame_ms"]))
        context.close()
    result.ready_ms, result.painted_ms = median(ready), median(painted)
    result.clicks = {i: (median([h for h, _ in v]), median([f for _, f in v])) for i, v in clicks.items()}


def profile_page(
    browser: Browser, html: Path
) -> tuple[dict[str, Any], dict[str, float], list[tuple[str, float]]]:
    """One more load, under the CPU profiler: (decode steps, inclusive ms per boot phase, top self ms)."""
    context, page = open_page(browser, html.as_uri())
    cdp = page.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 100})  # microseconds
    cdp.send("Profiler.start")
    page.reload()  # same site, same renderer: the profiler keeps running across it
    page.wait_for_function(PAINTED)
    profile = cdp.send("Profiler.stop")["profile"]
    decode = page.evaluate(DECODE_PROBE)
    context.close()
    inclusive, self_ms = profile_times(profile)
    phases = {name: inclusive[name] for name in BOOT_PHASES if name in inclusive}
    top = sorted(self_ms.items(), key=lambda item: -item[1])[:10]
    return decode, phases, top


def main_thread_timeline(browser: Browser, html: Path) -> dict[str, float]:
    """One more load, traced: milliseconds of the renderer main thread per kind of work (the JS
    profile shows native work such as HTML parsing, inflating and layout only as "(program)")."""
    context, page = open_page(browser, html.as_uri())
    browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
    page.reload()
    page.wait_for_function(PAINTED)
    trace = json.loads(browser.stop_tracing())
    context.close()
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    main_threads = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"
    }
    totals: dict[str, float] = dict.fromkeys(TIMELINE_EVENTS, 0.0)
    for event in events:
        if (
            event.get("name") in totals
            and event.get("ph") == "X"
            and (event.get("pid"), event.get("tid")) in main_threads
        ):
            totals[event["name"]] += event.get("dur", 0) / 1000
    return {name: ms for name, ms in totals.items() if ms >= 0.5}


def profile_times(profile: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Inclusive and self milliseconds per function name from a CDP CPU profile. A function that
    calls itself (directly or further down) is counted once, at its outermost frame."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    self_us: dict[int, float] = defaultdict(float)
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        self_us[node_id] += delta
    inclusive: dict[str, float] = defaultdict(float)
    by_name_self: dict[str, float] = defaultdict(float)

    def walk(node_id: int, open_names: frozenset[str]) -> float:
        node = nodes[node_id]
        name = node["callFrame"]["functionName"] or "(anonymous)"
        total = self_us[node_id] + sum(walk(child, open_names | {name}) for child in node.get("children", []))
        by_name_self[name] += self_us[node_id]
        if name not in open_names:
            inclusive[name] += total
        return total

    walk(profile["nodes"][0]["id"], frozenset())
    return {k: v / 1000 for k, v in inclusive.items()}, {k: v / 1000 for k, v in by_name_self.items()}


# -- one case ---------------------------------------------------------------------------------------


def run_case(turns: int, runs: int, work: Path, browser: Browser) -> tuple[CaseResult, list[str]]:
    result = CaseResult(turns)
    case_dir = work / f"session-{turns}"
    trace, html = case_dir / "trace.jsonl.zst", case_dir / "trace.html"
    stats, result.generate_s, _ = timed(lambda: make_session(trace, turns, target_mb=TARGET_MB.get(turns)))
    result.raw_bytes, result.zst_bytes, result.records = stats.raw_bytes, stats.file_bytes, stats.records
    result.notes.append(
        f"{stats.subagent_turns} subagent turns, {stats.compactions} compactions, "
        f"largest record {stats.largest_record_bytes / MB:.2f} MB"
    )
    print(
        f"  {turns} turns: trace written ({result.raw_bytes / MB:.0f} MB raw), measuring ...", file=sys.stderr
    )
    info, turn_list = measure_python(result, trace, html, runs)
    targets = click_targets(turn_list)
    breakdown = payload_breakdown(info, turn_list)
    del info, turn_list
    measure_browser(result, browser, html, targets, runs)
    decode, phases, top = profile_page(browser, html)
    timeline = main_thread_timeline(browser, html)
    return result, explain(result, breakdown, decode, phases, top, timeline)


def explain(
    result: CaseResult,
    breakdown: list[tuple[str, int, int]],
    decode: dict[str, Any],
    phases: dict[str, float],
    top: list[tuple[str, float]],
    timeline: dict[str, float],
) -> list[str]:
    lines = [f"-- {result.turns} turns: where the bytes and the time go " + "-" * 40]
    lines += [f"   {note}" for note in result.notes]
    lines.append("   payload (Python build_payload), JSON MB / gzip MB alone:")
    lines += [f"     {name:<28} {size / MB:8.2f} {packed / MB:8.2f}" for name, size, packed in breakdown]
    lines.append(
        f"   page decode: base64 {decode['base64_chars'] / MB:.2f} MB -> "
        f"gzip {decode['gzip_bytes'] / MB:.2f} MB -> JSON {decode['json_chars'] / MB:.2f} M chars; "
        f"base64 {decode['base64_ms']:.0f} ms "
        f"({'native' if decode['native_base64'] else 'atob loop'}), gunzip {decode['gunzip_ms']:.0f} ms, "
        f"JSON.parse {decode['parse_ms']:.0f} ms"
    )
    lines.append(
        f"   navigation: response end {decode['response_end_ms']:.0f} ms, DOM interactive "
        f"{decode['dom_interactive_ms']:.0f} ms, DOMContentLoaded {decode['dom_content_loaded_ms']:.0f} ms; "
        f"{decode['sidebar_rows']} sidebar rows, {decode['dom_nodes']} elements"
    )
    lines.append(
        "   CPU profile of one load, inclusive ms: " + ", ".join(f"{k} {v:.0f}" for k, v in phases.items())
    )
    lines.append("   top self time ms: " + ", ".join(f"{name} {ms:.0f}" for name, ms in top))
    lines.append("   main thread of one load, ms: " + ", ".join(f"{k} {v:.0f}" for k, v in timeline.items()))
    return lines


# -- report -----------------------------------------------------------------------------------------


def table(results: list[CaseResult]) -> list[str]:
    rows = [
        ("records", lambda r: f"{r.records}"),
        ("raw JSONL", lambda r: f"{r.raw_bytes / MB:.1f} MB"),
        ("trace.jsonl.zst", lambda r: f"{r.zst_bytes / MB:.2f} MB"),
        ("generate (incl. sizing)", lambda r: f"{r.generate_s:.1f} s"),
        ("read trace wall / CPU", lambda r: f"{r.read_s:.2f} / {r.read_cpu_s:.2f} s"),
        ("normalize wall / CPU", lambda r: f"{r.normalize_s:.2f} / {r.normalize_cpu_s:.2f} s"),
        ("render_html", lambda r: f"{r.render_s:.2f} s"),
        ("trace.html", lambda r: f"{r.html_bytes / MB:.2f} MB"),
        ("ready (data-ready)", lambda r: f"{r.ready_ms:.0f} ms"),
        ("first frame after ready", lambda r: f"{r.painted_ms:.0f} ms"),
    ]
    width = 26
    lines = [f"{'':<{width}}" + "".join(f"{f'{r.turns} turns':>22}" for r in results)]
    lines += [f"{label:<{width}}" + "".join(f"{cell(r):>22}" for r in results) for label, cell in rows]
    for r in results:
        for index, (handler, frame) in sorted(r.clicks.items()):
            figures = f"{handler:.1f} ms handler, {frame:.1f} ms to frame"
            lines.append(f"{f'click turn {index} ({r.turns})':<{width}}{figures:>44}")
    return lines


def missed_targets(r: CaseResult) -> list[str]:
    missed = []
    html_limit = HTML_LIMIT_BYTES.get(r.turns)
    if html_limit is not None and r.html_bytes > html_limit:
        missed.append(f"{r.turns} turns: trace.html {r.html_bytes / MB:.2f} MB > {html_limit / MB:.0f} MB")
    if r.turns in READY_LIMIT_MS and r.ready_ms > READY_LIMIT_MS[r.turns]:
        missed.append(f"{r.turns} turns: ready {r.ready_ms:.0f} ms > {READY_LIMIT_MS[r.turns]:.0f} ms")
    for index, (_, frame) in sorted(r.clicks.items()):
        if frame > CLICK_LIMIT_MS:
            missed.append(f"{r.turns} turns: click turn {index} {frame:.0f} ms > {CLICK_LIMIT_MS:.0f} ms")
    missed += [f"{r.turns} turns: {failure}" for failure in r.click_failures]
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--turns", default="200,1000", help="comma-separated session sizes (default 200,1000)"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is shown")
    parser.add_argument(
        "--keep", type=Path, default=None, help="write the traces and pages here and keep them"
    )
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.turns.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-viewer-") as scratch:
        work = args.keep or Path(scratch)
        print(f"viewer benchmark: {sizes} turns, {args.runs} runs each, in {work}", file=sys.stderr)
        results, explanations = [], []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for turns in sizes:
                result, lines = run_case(turns, args.runs, work, browser)
                results.append(result)
                explanations.extend(lines)
            browser.close()
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nviewer benchmark (median of {args.runs}; load average {load} on {os.cpu_count()} CPUs)\n")
    print("\n".join(table(results)))
    print()
    print("\n".join(explanations))
    missed = [line for r in results for line in missed_targets(r)]
    print("\ntargets missed: " + ("none" if not missed else ""))
    print("\n".join(f"  - {line}" for line in missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
