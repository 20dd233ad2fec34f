"""The proxy: moves bytes between an agent and its upstream, and reports what it saw.

    tasks.py      the one place that starts background tasks (`spawn`, `cancel_all`)
    upstream.py   pure rules: Target, upstream URL construction, header policy, outbound proxy choice
    failures.py   naming what went wrong (the cause, the status the client gets)
    relay.py      the forwarding engine every mode shares: HTTP and SSE, streamed, recorded as events
    websocket.py  the WebSocket half of the relay
    reverse.py    reverse mode: a local server standing in for the upstream's base URL
    forward.py    forward mode: the client's HTTPS proxy; decrypts model hosts into the same relay
    front.py      the first bytes of a forward connection: CONNECT, or anything else for aiohttp
    tunnel.py     blind tunnels for hosts forward mode does not decrypt
    ca.py         the local CA and the leaf certificates it mints in memory
    resolve.py    --tap-resolve rules (pure); resolver.py applies them to connections
    watchdog.py   says at once when a client rejects our certificate or nothing is recorded

Events go to `claude_tap.capture.exchange`; nothing here knows about clients, API formats or traces.
"""
