"""Several claude-tap processes on one index: two recording runs ending at once while a third searches.

Real processes, each opening the index file itself, as the recorders at the end of two runs and a
`claude-tap search` in a third terminal would. Nobody may fail, block for long, or lose a session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.unit.session_traces import make_session

WRITER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from claude_tap.normalize.session import normalize_records
    from claude_tap.store.index import index_session
    from claude_tap.store.reader import read_records

    stored, slowest = 0, 0.0
    for name in json.loads(sys.argv[1]):
        info, turns = normalize_records(read_records(Path(name)))
        started = time.monotonic()
        stored += index_session(Path(name), info, turns)
        slowest = max(slowest, time.monotonic() - started)
    print(json.dumps({"stored": stored, "slowest_s": slowest}))
    """
)

SEARCHER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from claude_tap.store.index import SessionIndex, index_path

    queries, seen = 0, 0
    deadline = time.monotonic() + 60
    with SessionIndex.open(index_path(os.environ)) as index:
        while not Path(sys.argv[1]).exists() and time.monotonic() < deadline:
            seen = max(seen, len(index.search("marmot", limit=100)))
            index.sessions()
            queries += 1
    print(json.dumps({"queries": queries, "seen": seen}))
    """
)


def test_two_runs_index_at_once_while_a_third_process_searches(tmp_path: Path) -> None:
    env = {**os.environ, "CLAUDE_TAP_HOME": str(tmp_path / "home")}
    sessions = [
        make_session(tmp_path / "out", prompt=f"marmot number{n}", tool_results=("a", "b", "c"))
        for n in range(24)
    ]
    halves = [json.dumps([str(path) for path in sessions[k::2]]) for k in (0, 1)]
    stop = tmp_path / "stop"
    # The index exists before anyone searches, as it does after the first run.
    subprocess.run([sys.executable, "-c", WRITER, "[]"], env=env, check=True, timeout=60)

    searcher = subprocess.Popen(
        [sys.executable, "-c", SEARCHER, str(stop)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, half], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for half in halves
    ]
    results = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()
        assert b"not added to the index" not in err, err.decode()
        results.append(json.loads(out))
    stop.touch()
    out, err = searcher.communicate(timeout=60)
    assert searcher.returncode == 0, err.decode()
    searched = json.loads(out)

    assert [result["stored"] for result in results] == [12, 12]
    assert max(result["slowest_s"] for result in results) < 1.5  # never stalls a run's exit
    assert searched["queries"] > 0
    check = subprocess.run(
        [sys.executable, "-m", "claude_tap", "search", "marmot", "--limit", "100", "--json"],
        env=env,  # its own update looks in <home>/traces, not out/: it finds only what the runs stored
        capture_output=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr.decode()
    assert {hit["session_dir"] for hit in json.loads(check.stdout)} == {str(path) for path in sessions}
