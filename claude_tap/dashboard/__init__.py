"""`claude-tap dashboard`: the sessions index as a local web page (server.py, figures.py, assets/)."""
