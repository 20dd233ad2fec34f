"""The proxy: moves bytes between an agent and its upstream, and reports what it saw.

    tasks.py      the one place that starts background tasks (`spawn`, `cancel_all`)
    upstream.py   pure rules: Target, upstream URL construction, header policy, outbound proxy choice
    failures.py   naming what went wrong (the cause, the status the client gets)
    relay.py      the forwarding engine every mode shares: HTTP and SSE, streamed, recorded as events
    websocket.py  the WebSocket half of the relay
    reverse.py    reverse mode: a local server standing in for the upstream's base URL

Events go to `claude_tap.capture.exchange`; nothing here knows about clients, API formats or traces.
"""
