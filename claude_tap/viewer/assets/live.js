/* live.js: follows a running session over Server-Sent Events (server: claude_tap/viewer/live.py).

    event: session   SessionInfo                    event: turn   a whole Turn (id: N)
    event: replayed  the catch-up after connecting  event: end    the run is over
    event: analysis  threads, and the context and cache figures of the turns that changed

A turn whose index is already shown replaces it. Records are applied in batches, keeping the
selected turn, the tab and both scroll positions. EventSource retries on its own after a dropped
connection; when it gives up (the server was away), we open a new one with ?since=<last id>. */

const live = { url: null, source: null, lastId: null, pending: [], timer: 0, retryMs: 1000, isEnded: false };

function startLive(url) {
  live.url = url;
  connectLive();
}

function connectLive() {
  const source = new EventSource(live.lastId === null ? live.url : withSince(live.url, live.lastId));
  live.source = source;
  source.addEventListener("open", () => {
    live.retryMs = 1000;
    setLiveStatus("live");
  });
  source.addEventListener("turn", (event) => {
    rememberId(event);
    live.pending.push(JSON.parse(event.data));
    if (!live.timer) live.timer = setTimeout(flushLive, 60);
  });
  source.addEventListener("session", (event) => {
    store.info = JSON.parse(event.data) || {};
    renderHeader();
  });
  source.addEventListener("replayed", rememberId);
  source.addEventListener("analysis", (event) => {
    if (live.timer) flushLive(); // the figures are of turns already sent: place those first
    const touchesSelected = mergeAnalysis(JSON.parse(event.data)); // threads.js
    renderThreadTree();
    renderSidebar();
    if (touchesSelected) renderDetail(true);
  });
  source.addEventListener("end", () => {
    live.isEnded = true;
    source.close();
    setLiveStatus("ended");
  });
  source.addEventListener("error", () => {
    if (live.isEnded) return;
    setLiveStatus("reconnecting");
    if (source.readyState === EventSource.CLOSED) {
      setTimeout(connectLive, live.retryMs);
      live.retryMs = Math.min(live.retryMs * 2, 15000);
    }
  });
}

function rememberId(event) {
  if (event.lastEventId && /^\d+$/.test(event.lastEventId)) live.lastId = event.lastEventId;
}

function withSince(url, since) {
  const parsed = new URL(url, location.href);
  parsed.searchParams.set("since", since);
  return parsed.pathname + parsed.search;
}

function flushLive() {
  live.timer = 0;
  const turns = live.pending;
  live.pending = [];
  let touchesSelected = false;
  for (const turn of turns) {
    addTurn(turn);
    if (turn.index === app.selected) touchesSelected = true;
  }
  afterNewTurns(touchesSelected);
}

function setLiveStatus(state) {
  const el = document.getElementById("live-status");
  el.hidden = false;
  el.className = "live-status live-" + state;
  el.textContent = t("live." + state);
}
