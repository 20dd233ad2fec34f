"""Session index benchmark: 1,000 generated sessions, then `index --rebuild`, `sessions` and `search`.

    python bench/bench_sessions.py                        # 1,000 sessions, about 1 GB of requests
    python bench/bench_sessions.py --sessions 200         # quicker look
    python bench/bench_sessions.py --keep /tmp/tap-home   # keep (and reuse) the generated home

Sessions come from bench/make_session.py's generator (Claude Code shaped: a system prompt, 25 tools,
a growing conversation, tool results, subagents), 4 to 24 calls each, spread over 60 days, a third of
them as `codex`. Each is written as the trace writer writes it: request bodies that continue an
earlier one stored as deltas (`body_ref`, capture/body_delta.py), one zstd stream flushed per record.
Every session's first prompt carries a word of its own (`needle0042`), so a search can hit one session.

What it prints (2-core machine: close other work first; nothing here is a pass/fail test):
- the traces: sessions, calls, whole requests as the clients sent them (MB), the stored records
  decompressed ("raw trace", MB), the files on disk (MB);
- `claude-tap index --rebuild` (the real command, a subprocess): seconds, raw trace MB/s, request MB/s,
  index size;
- `sessions` (list all 1,000, index up to date, the trace directories checked): in-process median, and the
  whole `python -m claude_tap sessions` process beside `python -m claude_tap --version` (interpreter and
  import cost alone);
- `search` for a word in one session and for a word in every session: in-process median, and the process;
- the end-of-run update (`index_session`) of one more 200-call session into the full index.

Targets (issue 13): sessions <= 0.3 s, search <= 100 ms, end-of-run update <= 1 s, rebuild >= 50 MB/s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from make_session import START_WALL, SessionGenerator, record_line

from claude_tap.capture.body_delta import BodyHistory
from claude_tap.store.writer import ZSTD_LEVEL, ZSTD_WINDOW_LOG

DAY_S = 86400


class BenchSession(SessionGenerator):
    """make_session's generator with a word of its own in the first prompt."""

    def __init__(self, turns: int, *, needle: str, scale: float, seed: int) -> None:
        super().__init__(turns, scale=scale, seed=seed)
        self.needle = needle

    def _user_prompt(self, first: bool = False) -> dict[str, Any]:
        prompt = super()._user_prompt(first)
        if first:
            prompt["content"][-1]["text"] += f" {self.needle}"
        return prompt


def write_session(job: tuple[Path, int, float]) -> tuple[int, int, int, int]:
    """Write session number `n` under `root`; returns (calls, request bytes, raw trace bytes, file bytes)."""
    root, n, scale = job
    turns = 4 + (n * 7919) % 21
    generator = BenchSession(turns, needle=f"needle{n:04d}", scale=scale, seed=n)
    generator.clock_s = START_WALL - (n % 60) * DAY_S - (n * 97) % DAY_S
    started = time.gmtime(generator.clock_s)
    client = "codex" if n % 3 == 2 else "claude"
    session_dir = (
        root / time.strftime("%Y-%m-%d", started) / f"{time.strftime('%H%M%S', started)}-{client}-{n:06x}"
    )
    session_dir.mkdir(parents=True, exist_ok=True)
    history = BodyHistory()
    params = zstandard.ZstdCompressionParameters.from_level(ZSTD_LEVEL, window_log=ZSTD_WINDOW_LOG)
    buffer = io.BytesIO()
    stream = zstandard.ZstdCompressor(compression_params=params).stream_writer(buffer, closefd=False)
    calls = request_bytes = raw_bytes = 0
    for record in generator.records():
        if record["type"] == "session":
            record["client"] = client
        if record["type"] == "exchange":
            calls += 1
            request = record["request"]
            text = json.dumps(request["body"], ensure_ascii=False, separators=(",", ":"))
            request_bytes += len(text.encode())
            encoded = history.encode(text.encode(), request["path"], record["id"])
            request["body"] = encoded.stored
            if encoded.ref is not None:
                request["body_ref"] = encoded.ref
            history.commit(record["id"])
        line = record_line(record)
        raw_bytes += len(line)
        stream.write(line)
        stream.flush(zstandard.FLUSH_BLOCK)
    stream.flush(zstandard.FLUSH_FRAME)
    (session_dir / "trace.jsonl.zst").write_bytes(buffer.getvalue())
    return calls, request_bytes, raw_bytes, len(buffer.getvalue())


def generate(home: Path, sessions: int, scale: float) -> dict[str, float]:
    root = home / "traces"
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        results = list(pool.map(write_session, [(root, n, scale) for n in range(sessions)], chunksize=8))
    totals = [sum(column) for column in zip(*results, strict=True)]
    stats = {
        "sessions": sessions,
        "calls": totals[0],
        "request_mb": totals[1] / 1e6,
        "raw_mb": totals[2] / 1e6,
        "file_mb": totals[3] / 1e6,
        "seconds": time.perf_counter() - started,
    }
    (home / "bench-stats.json").write_text(json.dumps(stats))
    return stats


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command and its worker processes
    return usage.ru_utime + usage.ru_stime


def median_s(action: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def process_s(args: list[str], env: dict[str, str], runs: int = 3) -> float:
    def run() -> None:
        subprocess.run([sys.executable, "-m", "claude_tap", *args], env=env, capture_output=True, check=False)

    return median_s(run, runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=1.2, help="tool output size (make_session's scale)")
    parser.add_argument("--keep", type=Path, default=None, help="generate into (or reuse) this home")
    args = parser.parse_args(argv)

    home = args.keep or Path(tempfile.mkdtemp(prefix="bench-sessions-"))
    env = {**os.environ, "CLAUDE_TAP_HOME": str(home), "CI": "1"}
    try:
        if (home / "bench-stats.json").is_file():
            stats = json.loads((home / "bench-stats.json").read_text())
            print(f"reusing {home}")
        else:
            stats = generate(home, args.sessions, args.scale)
            print(f"generated in {stats['seconds']:.1f} s")
        print(
            f"traces: {stats['sessions']} sessions, {stats['calls']} calls, "
            f"requests {stats['request_mb']:.0f} MB, raw trace {stats['raw_mb']:.0f} MB, "
            f"files {stats['file_mb']:.1f} MB"
        )

        cpu_before = _children_cpu_s()
        started = time.perf_counter()
        rebuild = subprocess.run(
            [sys.executable, "-m", "claude_tap", "index", "--rebuild"],
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        cpu_s = _children_cpu_s() - cpu_before
        print(rebuild.stderr.strip())
        index_mb = (home / "index.sqlite3").stat().st_size / 1e6
        print(
            f"index --rebuild: {seconds:.1f} s, {stats['raw_mb'] / seconds:.0f} MB/s of raw trace, "
            f"{stats['request_mb'] / seconds:.0f} MB/s of requests; index {index_mb:.0f} MB; "
            f"CPU {cpu_s:.1f} s in all processes ({stats['raw_mb'] / cpu_s:.0f} MB of raw trace per CPU-s)"
        )

        from claude_tap.cli import Environment
        from claude_tap.options import parse_command
        from claude_tap.sessions_cli import run_sessions_command
        from claude_tap.store.index import SessionIndex, index_path

        def in_process(words: list[str]) -> None:
            environment = Environment(
                stdin=io.StringIO(),
                stdout=io.StringIO(),
                stderr=io.StringIO(),
                environ=env,
                home=home,
                cwd=home,
            )
            run_sessions_command(parse_command(words, env), environment)

        needle = f"needle{int(stats['sessions']) // 2 + 1:04d}"
        listing = median_s(lambda: in_process(["sessions"]), 5)
        listing_json = median_s(lambda: in_process(["sessions", "--json"]), 5)
        listing_process = process_s(["sessions"], env)
        version_process = process_s(["--version"], env)
        print(
            f"sessions: {listing * 1000:.0f} ms in-process (--json {listing_json * 1000:.0f} ms); process "
            f"{listing_process * 1000:.0f} ms, beside --version {version_process * 1000:.0f} ms"
        )
        with SessionIndex.open(index_path(env)) as index:
            rare = median_s(lambda: index.search(needle), 20)
            common = median_s(lambda: index.search("writer"), 20)
            filtered = median_s(lambda: index.sessions(), 20)
            hits = len(index.search(needle)), len(index.search("writer"))
        print(
            f"search (index only): one session's word {rare * 1000:.1f} ms ({hits[0]} hit), a word in every "
            f"session {common * 1000:.1f} ms ({hits[1]} hits, best 20); list query {filtered * 1000:.1f} ms"
        )
        command = median_s(lambda: in_process(["search", needle]), 5)
        command_process = process_s(["search", needle], env)
        print(
            f"search command (index up to date): {command * 1000:.0f} ms in-process; "
            f"process {command_process * 1000:.0f} ms"
        )

        from claude_tap.normalize.session import normalize_records
        from claude_tap.store.index import index_session
        from claude_tap.store.reader import read_records

        big = BenchSession(200, needle="needlebig", scale=args.scale, seed=99)
        big_dir = home / "extra" / "2025-09-30" / "091200-claude-big"
        shutil.rmtree(big_dir, ignore_errors=True)
        big_dir.mkdir(parents=True)
        with zstandard.ZstdCompressor().stream_writer(open(big_dir / "trace.jsonl.zst", "wb")) as stream:
            for record in big.records():
                stream.write(record_line(record))
        info, turns = normalize_records(read_records(big_dir))
        started = time.perf_counter()
        stored = index_session(big_dir, info, turns, env)
        elapsed = time.perf_counter() - started
        print(f"end-of-run update, 200 calls into the full index: {elapsed * 1000:.0f} ms (stored: {stored})")
    finally:
        if args.keep is None:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
