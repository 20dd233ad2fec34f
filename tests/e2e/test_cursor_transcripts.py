"""Cursor's transcripts imported into the trace while the run goes on, by the real claude-tap process.

cursor-agent does not install from npm or PyPI, so a script plays it, writing its transcripts the way
Cursor lays them out (~/.cursor/projects/<project>/agent-transcripts/, a flat `<conversation>.jsonl` and
a nested `<conversation>/<part>.jsonl`): two entries, then it waits until the trace on disk holds them
(so they were imported while it ran, not after it exited), then one more entry as it exits, half a line
first to prove a line still being written is not read early. A transcript older than the run belongs
to another session and stays out.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.e2e.real_cli import agent_dirs, run_through_tap
from tests.e2e.tap_process import tap_env, write_script

pytestmark = [pytest.mark.e2e]

CURSOR_AGENT = """\
import json, os, pathlib, sys, time
sys.path.insert(0, os.environ["PYTHONPATH"])
from claude_tap.store.reader import read_records

root = pathlib.Path.home() / ".cursor" / "projects" / "demo-project" / "agent-transcripts"
(root / "conv-nested").mkdir(parents=True, exist_ok=True)
flat, nested = root / "conv-flat.jsonl", root / "conv-nested" / "part-1.jsonl"

def write(path, entry, end="\\n"):
    with path.open("a") as out:
        out.write(json.dumps(entry) + end)

write(flat, {"role": "user", "message": {"content": [{"type": "text", "text": "list the files"}]}})
write(flat, {"role": "assistant", "message": {"content": [
    {"type": "tool_use", "id": "t1", "name": "Shell", "input": {"command": "ls"}}]}})
traces = pathlib.Path(os.environ["CLAUDE_TAP_HOME"])
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    records = [r for trace in traces.rglob("trace.jsonl.zst") for r in read_records(trace)]
    found = [r for r in records if r.get("type") == "transcript"]
    if len(found) >= 2:
        break
    time.sleep(0.1)
else:
    print("the transcript entries were not in the trace while cursor-agent ran", file=sys.stderr)
    sys.exit(3)
answer = {"role": "assistant", "message": {"content": [{"type": "text", "text": "done: a.py b.py"}]}}
half = json.dumps(answer)
with nested.open("a") as out:
    out.write(half[:20])
    out.flush()
    time.sleep(1.5)  # the watch polls meanwhile: half a line must wait for its newline
    out.write(half[20:] + "\\n")
print("cursor-agent: finished")
"""


async def test_cursor_transcripts_are_recorded_as_the_run_goes_on(tmp_path: Path) -> None:
    write_script(tmp_path / "bin" / "cursor-agent", CURSOR_AGENT)
    home, workdir = agent_dirs(tmp_path)
    old = home / ".cursor" / "projects" / "old-project" / "agent-transcripts" / "conv-old.jsonl"
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"role": "user", "message": {"content": "another session"}}) + "\n")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    env = tap_env(tmp_path, [tmp_path / "bin"], CLAUDE_TAP_HOME=str(home / ".claude-tap"))
    env["HOME"] = str(home)
    result = await run_through_tap(
        home, "cursor", ["--tap-watchdog", "0"], ["-p", "list the files"], env, workdir
    )

    assert result.returncode == 0, result.stderr
    assert "cursor-agent: finished" in result.stdout
    transcripts = [record for record in result.records if record["type"] == "transcript"]
    assert [(r["conversation"], r["file"]) for r in transcripts] == [
        ("conv-flat", "conv-flat.jsonl"),
        ("conv-flat", "conv-flat.jsonl"),
        ("conv-nested", "part-1.jsonl"),
    ]
    tool_use = transcripts[1]["entry"]["message"]["content"][0]
    assert (tool_use["type"], tool_use["name"], tool_use["input"]) == ("tool_use", "Shell", {"command": "ls"})
    assert transcripts[2]["entry"]["message"]["content"][0]["text"] == "done: a.py b.py"  # whole, once
    assert "another session" not in json.dumps(result.records)
