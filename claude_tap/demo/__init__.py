"""`claude-tap demo`: a real recorded session with no API key, no agent installed and no network.

`upstream.py` plays the Anthropic Messages API on loopback, `agent.py` plays a coding agent (run as a
real child process through the same launch path as Claude Code), and the real proxy records them.
The orchestration lives in `claude_tap.run.run_demo`.
"""
