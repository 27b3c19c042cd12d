// The live monitoring console: live rooms with real-time counts (WatchRoom streams), a room's
// detail, and moderation actions, all through the gateway's RPCs over Connect JSON.
import { Client, ConnectError } from "./connect.js";

const TOKEN_KEY = "costream.console.token";
const LIVE_STATUSES = ["ROOM_STATUS_LIVE", "ROOM_STATUS_WAITING_RECONNECT"];
// WatchRoom streams at once. Over HTTP/2 they share one connection and the gateway's
// MAX_STREAMS_PER_USER (default 20) is the limit: stay below it. Over HTTP/1.1 (the gateway's
// own port, no TLS) each open stream holds one of the 6 connections a browser opens to an
// origin, and calls queue behind them: keep two free for calls.
const MAX_WATCHED_HTTP2 = 15;
const MAX_WATCHED_HTTP1 = 4;
const POLL_MS = 4000;
const MAX_LIST_PAGES = 10;

const STATUS_LABELS = {
  ROOM_STATUS_IDLE: "idle",
  ROOM_STATUS_LIVE: "live",
  ROOM_STATUS_WAITING_RECONNECT: "waiting reconnect",
  ROOM_STATUS_ENDED: "ended",
  ROOM_STATUS_RECORDED: "recorded",
};
const RECORDING_LABELS = {
  RECORDING_STATUS_UNSPECIFIED: "—",
  RECORDING_STATUS_STARTING: "starting",
  RECORDING_STATUS_ACTIVE: "recording",
  RECORDING_STATUS_STOPPING: "stopping",
  RECORDING_STATUS_FAILED: "failed",
};
const BAN_DURATIONS = [
  ["", "until unbanned"], ["600s", "10 minutes"], ["3600s", "1 hour"],
  ["86400s", "24 hours"], ["604800s", "7 days"],
];

const $ = (id) => document.getElementById(id);

const state = {
  token: "",
  me: null,
  rooms: new Map(), // room id → Room (proto3 JSON), the rooms now live or waiting reconnect
  listOrder: [], // room ids as ListRooms gave them (newest first)
  watches: new Map(), // room id → AbortController of its WatchRoom stream
  maxWatched: streamBudget(),
  sort: { key: "liveSince", descending: true },
  filter: "",
  pollTimer: 0,
  polling: false,
  listedAt: null,
  selected: null, // room id whose detail is open
  detail: null, // {room, viewers, bans, invitations, nextViewers, errors}
  detailGeneration: 0,
  detailReload: 0,
};

const client = new Client(location.origin, () => state.token);

// ---------------------------------------------------------------------------------------------
// Sign-in.

async function signIn(token, { remembered = false } = {}) {
  state.token = token.trim();
  showError($("sign-in-error"), null);
  let me;
  try {
    me = await client.call("WhoAmI", {});
  } catch (error) {
    state.token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(remembered ? null : error);
    if (remembered) showError($("sign-in-error"), error, "Your saved token no longer works: ");
    return;
  }
  if (!(me.roles || []).includes("admin")) {
    state.token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn();
    const box = $("sign-in-error");
    put(
      box,
      h("strong", {}, "Not an admin. "),
      `This console is for platform admins; your token is for user ${me.userId} without the admin role.`,
    );
    box.hidden = false;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, state.token);
  state.me = me;
  showConsole();
}

function signOut(error) {
  clearTimeout(state.pollTimer);
  for (const controller of state.watches.values()) controller.abort();
  state.watches.clear();
  state.rooms.clear();
  state.listOrder = [];
  state.selected = null;
  state.detail = null;
  state.me = null;
  state.token = "";
  sessionStorage.removeItem(TOKEN_KEY);
  put($("rooms").tBodies[0]);
  showSignIn(error);
}

function showSignIn(error) {
  for (const id of ["console", "totals", "whoami", "sign-out", "keys"]) $(id).hidden = true;
  $("sign-in").hidden = false;
  showError($("sign-in-error"), error || null);
  $("token").value = "";
  $("token").focus();
}

function showConsole() {
  $("sign-in").hidden = true;
  for (const id of ["console", "totals", "whoami", "sign-out", "keys"]) $(id).hidden = false;
  put($("whoami"), "signed in as ", h("b", {}, state.me.userId), " · admin");
  $("filter").focus();
  refreshList();
}

// ---------------------------------------------------------------------------------------------
// The list of live rooms: ListRooms every few seconds for membership, WatchRoom for counts.

async function refreshList() {
  clearTimeout(state.pollTimer);
  if (state.polling || !state.me) return;
  state.polling = true;
  try {
    const rooms = [];
    let pageToken = "";
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const reply = await client.call("ListRooms", {
        statuses: LIVE_STATUSES, pageSize: 100, pageToken,
      });
      rooms.push(...(reply.rooms || []));
      pageToken = reply.nextPageToken || "";
      if (!pageToken) break;
    }
    const listed = new Set(rooms.map((room) => room.roomId));
    for (const id of state.rooms.keys()) {
      if (!listed.has(id)) forgetRoom(id);
    }
    for (const room of rooms) {
      const known = state.rooms.get(room.roomId);
      // A stream's copy is as new as the list's or newer; keep it for watched rooms.
      if (!known || !state.watches.has(room.roomId) || newer(room, known)) {
        state.rooms.set(room.roomId, room);
      }
    }
    state.listOrder = rooms.map((room) => room.roomId);
    state.listedAt = new Date();
    showError($("list-error"), null);
  } catch (error) {
    if (isUnauthenticated(error)) return signOut(error);
    showError($("list-error"), error, "Could not list the live rooms: ");
  } finally {
    state.polling = false;
  }
  if (!state.me) return;
  syncWatches();
  render();
  state.pollTimer = setTimeout(refreshList, POLL_MS);
}

function streamBudget() {
  const protocol = performance.getEntriesByType("navigation")[0]?.nextHopProtocol || "";
  return /^h[23]/.test(protocol) ? MAX_WATCHED_HTTP2 : MAX_WATCHED_HTTP1;
}

function newer(a, b) {
  return Date.parse(a.updateTime || 0) > Date.parse(b.updateTime || 0);
}

function forgetRoom(id) {
  state.rooms.delete(id);
  unwatch(id);
}

// Watch the open room and the first rooms shown, up to the cap; stop watching the others.
function syncWatches() {
  const wanted = new Set();
  if (state.selected && state.rooms.has(state.selected)) wanted.add(state.selected);
  for (const id of [...displayedIds(), ...state.listOrder]) {
    if (wanted.size >= state.maxWatched) break;
    wanted.add(id);
  }
  for (const id of state.watches.keys()) {
    if (!wanted.has(id)) unwatch(id);
  }
  for (const id of wanted) {
    if (!state.watches.has(id)) watch(id);
  }
}

function unwatch(id) {
  state.watches.get(id)?.abort();
  state.watches.delete(id);
}

async function watch(id) {
  const controller = new AbortController();
  state.watches.set(id, controller);
  let backoff = 1000;
  while (!controller.signal.aborted) {
    try {
      for await (const event of client.stream("WatchRoom", { roomId: id }, { signal: controller.signal })) {
        backoff = 1000;
        onRoomEvent(event);
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      if (isUnauthenticated(error)) return signOut(error);
      if (error instanceof ConnectError && error.reason === "TOO_MANY_STREAMS") {
        // Other tabs or clients of this user hold streams too: watch fewer, poll the rest.
        state.maxWatched = Math.max(1, state.watches.size - 1);
        if (state.watches.get(id) === controller) state.watches.delete(id);
        toast(`The gateway refused another stream; watching ${state.maxWatched} rooms live.`);
        render();
        return;
      }
      if (error instanceof ConnectError && error.code === "not_found") {
        forgetRoom(id);
        render();
        return;
      }
    }
    // The stream ended (a gateway drain, a network blip): reconnect; its snapshot catches up.
    await sleep(backoff);
    backoff = Math.min(backoff * 2, 10000);
  }
}

function onRoomEvent(event) {
  if (event.kind === "ROOM_EVENT_KIND_KEEPALIVE" || !event.room) return;
  const room = event.room;
  const id = room.roomId;
  const live = LIVE_STATUSES.includes(room.status) && !room.deleted;
  if (live) {
    state.rooms.set(id, room);
    if (!state.listOrder.includes(id)) state.listOrder.unshift(id);
  } else {
    forgetRoom(id);
    state.listOrder = state.listOrder.filter((other) => other !== id);
  }
  if (state.selected === id && state.detail) {
    state.detail.room = room;
    if (event.kind !== "ROOM_EVENT_KIND_UPDATED") scheduleDetailReload();
    renderDetail();
  }
  render();
}

// ---------------------------------------------------------------------------------------------
// Rendering the list.

const COLUMNS = ["title", "roomId", "host", "status", "viewers", "publishers", "recording", "liveSince", "feed"];
const SORT_VALUES = {
  title: (r) => (r.title || "").toLowerCase(),
  roomId: (r) => r.roomId,
  host: (r) => r.hostUserId || "",
  status: (r) => r.status || "",
  viewers: (r) => r.stats?.viewerCount || 0,
  publishers: (r) => r.stats?.publisherCount || 0,
  recording: (r) => r.recordingStatus || "",
  liveSince: (r) => Date.parse(r.liveTime || r.createTime || 0),
};

function displayedIds() {
  const needle = state.filter.toLowerCase();
  const ids = state.listOrder.filter((id) => {
    const room = state.rooms.get(id);
    if (!room) return false;
    if (!needle) return true;
    return [room.title, room.roomId, room.hostUserId].some((v) => (v || "").toLowerCase().includes(needle));
  });
  const value = SORT_VALUES[state.sort.key];
  const sign = state.sort.descending ? -1 : 1;
  return ids
    .map((id, index) => ({ id, index, key: value(state.rooms.get(id)) }))
    .sort((a, b) => (a.key < b.key ? -sign : a.key > b.key ? sign : a.index - b.index))
    .map((entry) => entry.id);
}

const rows = new Map(); // room id → <tr>

function render() {
  const all = [...state.rooms.values()];
  setText($("total-rooms"), String(all.length));
  setText($("total-viewers"), String(sum(all, (r) => r.stats?.viewerCount)));
  setText($("total-publishers"), String(sum(all, (r) => r.stats?.publisherCount)));
  setText($("total-recording"), String(all.filter((r) => recording(r)).length));

  const tbody = $("rooms").tBodies[0];
  const focusedId = document.activeElement?.closest?.("tr[data-id]")?.dataset.id;
  const ids = displayedIds();
  for (const [id, tr] of rows) {
    if (!ids.includes(id)) {
      tr.remove();
      rows.delete(id);
    }
  }
  ids.forEach((id, index) => {
    let tr = rows.get(id);
    if (!tr) {
      tr = h("tr", { tabindex: "0", "data-id": id }, COLUMNS.map((c) => h("td", { class: c })));
      rows.set(id, tr);
    }
    fillRow(tr, state.rooms.get(id));
    if (tbody.children[index] !== tr) tbody.insertBefore(tr, tbody.children[index] || null);
  });
  if (focusedId && rows.has(focusedId) && document.activeElement !== rows.get(focusedId)) {
    rows.get(focusedId).focus({ preventScroll: true });
  }

  $("empty").hidden = ids.length > 0;
  $("empty").textContent = state.filter
    ? `No live room matches “${state.filter}”.`
    : "No live rooms right now. New ones appear here as they go live.";
  const watched = [...state.watches.keys()].filter((id) => state.rooms.has(id)).length;
  const polled = state.rooms.size - watched;
  setText(
    $("list-state"),
    `${ids.length} of ${state.rooms.size} shown · ${watched} in real time` +
      (polled ? `, ${polled} refreshed every ${POLL_MS / 1000} s` : "") +
      (state.listedAt ? ` · listed ${clock(state.listedAt)}` : ""),
  );
  for (const th of $("rooms").tHead.rows[0].cells) {
    const key = th.dataset.sort;
    if (key) th.setAttribute("aria-sort", key === state.sort.key ? (state.sort.descending ? "descending" : "ascending") : "none");
  }
}

function fillRow(tr, room) {
  const [title, roomId, host, status, viewers, publishers, rec, since, feed] = tr.cells;
  tr.classList.toggle("selected", room.roomId === state.selected);
  tr.classList.toggle("waiting", room.status === "ROOM_STATUS_WAITING_RECONNECT");
  setText(title, room.title || "(untitled)");
  title.title = room.description || room.title || "";
  setText(roomId, room.roomId);
  setText(host, room.hostUserId);
  setBadge(status, STATUS_LABELS[room.status] || room.status, statusClass(room.status));
  const stats = room.stats || {};
  setCount(viewers, `${stats.viewerCount || 0} / ${stats.peakViewerCount || 0}`);
  setCount(publishers, String(stats.publisherCount || 0));
  const recordingStatus = room.recordingStatus || "RECORDING_STATUS_UNSPECIFIED";
  setBadge(rec, RECORDING_LABELS[recordingStatus], recordingClass(recordingStatus));
  setText(since, room.liveTime ? `${clock(new Date(room.liveTime))} · ${ago(room.liveTime)}` : "—");
  since.title = room.liveTime || "";
  const live = state.watches.has(room.roomId);
  setText(feed, live ? "●" : "○");
  feed.title = live ? "updated in real time (WatchRoom)" : `refreshed every ${POLL_MS / 1000} s (ListRooms)`;
  feed.classList.toggle("on", live);
}

function setCount(cell, value) {
  if (cell.textContent === value) return;
  const changed = cell.textContent !== "";
  cell.textContent = value;
  if (changed) {
    cell.classList.remove("changed");
    void cell.offsetWidth; // restart the animation
    cell.classList.add("changed");
  }
}

function setBadge(cell, label, className) {
  if (cell.dataset.label === label) return;
  cell.dataset.label = label;
  put(cell, label === "—" ? "—" : h("span", { class: `badge ${className}` }, label));
}

function statusClass(status) {
  return {
    ROOM_STATUS_LIVE: "live", ROOM_STATUS_WAITING_RECONNECT: "waiting",
    ROOM_STATUS_ENDED: "ended", ROOM_STATUS_RECORDED: "ended", ROOM_STATUS_IDLE: "idle",
  }[status] || "idle";
}

function recordingClass(status) {
  return {
    RECORDING_STATUS_ACTIVE: "rec", RECORDING_STATUS_STARTING: "waiting",
    RECORDING_STATUS_STOPPING: "idle", RECORDING_STATUS_FAILED: "failed",
  }[status] || "idle";
}

function recording(room) {
  return ["RECORDING_STATUS_STARTING", "RECORDING_STATUS_ACTIVE"].includes(room.recordingStatus);
}

// ---------------------------------------------------------------------------------------------
// A room's detail.

async function openRoom(id) {
  const room = state.rooms.get(id);
  state.selected = id;
  state.detail = { room, viewers: [], bans: [], invitations: [], nextViewers: "", errors: {} };
  $("detail").hidden = false;
  $("console").classList.add("with-detail");
  syncWatches();
  render();
  renderDetail();
  await loadDetail();
}

function closeRoom() {
  const id = state.selected;
  state.selected = null;
  state.detail = null;
  state.detailGeneration++;
  $("detail").hidden = true;
  $("console").classList.remove("with-detail");
  syncWatches();
  render();
  rows.get(id)?.focus();
}

function scheduleDetailReload() {
  clearTimeout(state.detailReload);
  state.detailReload = setTimeout(() => loadDetail({ keepRoom: true }), 400);
}

async function loadDetail({ keepRoom = false } = {}) {
  const id = state.selected;
  if (!id) return;
  const generation = ++state.detailGeneration;
  const [room, viewers, bans, invitations] = await Promise.allSettled([
    keepRoom ? Promise.resolve(null) : client.call("GetRoom", { roomId: id }),
    client.call("ListViewers", { roomId: id, pageSize: 100 }),
    client.call("ListBannedUsers", { roomId: id, pageSize: 100 }),
    client.call("ListRoomInvitations", { roomId: id, pageSize: 50 }),
  ]);
  if (generation !== state.detailGeneration || state.selected !== id) return;
  const failed = [room, viewers, bans, invitations].find((r) => r.status === "rejected" && isUnauthenticated(r.reason));
  if (failed) return signOut(failed.reason);
  const detail = state.detail;
  detail.errors = {};
  if (room.status === "fulfilled" && room.value) detail.room = room.value;
  else if (room.status === "rejected") detail.errors.room = room.reason;
  if (viewers.status === "fulfilled") {
    detail.viewers = viewers.value.viewers || [];
    detail.nextViewers = viewers.value.nextPageToken || "";
  } else detail.errors.viewers = viewers.reason;
  if (bans.status === "fulfilled") detail.bans = bans.value.bans || [];
  else detail.errors.bans = bans.reason;
  if (invitations.status === "fulfilled") detail.invitations = invitations.value.invitations || [];
  else detail.errors.invitations = invitations.reason;
  renderDetail();
}

async function moreViewers() {
  const detail = state.detail;
  try {
    const reply = await client.call("ListViewers", {
      roomId: detail.room.roomId, pageSize: 100, pageToken: detail.nextViewers,
    });
    detail.viewers.push(...(reply.viewers || []));
    detail.nextViewers = reply.nextPageToken || "";
  } catch (error) {
    detail.errors.viewers = error;
  }
  renderDetail();
}

function renderDetail() {
  const aside = $("detail");
  const detail = state.detail;
  if (!detail) return;
  const room = detail.room;
  if (!room) {
    put(aside, h("p", { class: "muted" }, "Loading…"), errorBox(detail.errors.room));
    return;
  }
  const focused = document.activeElement?.dataset?.key;
  const ended = !LIVE_STATUSES.includes(room.status) && room.status !== "ROOM_STATUS_IDLE";
  const stats = room.stats || {};
  const participants = room.participants || [];
  const moderators = room.moderatorUserIds || [];
  const recordingStatus = room.recordingStatus || "RECORDING_STATUS_UNSPECIFIED";

  put(
    aside,
    h("div", { class: "detail-head" },
      h("div", {},
        h("h2", {}, room.title || "(untitled)"),
        h("div", { class: "sub" },
          h("span", { class: `badge ${statusClass(room.status)}` }, STATUS_LABELS[room.status] || room.status),
          " ", h("code", {}, room.roomId),
          room.endReason ? ` · ${enumLabel(room.endReason, "END_REASON_")}` : "",
        ),
      ),
      h("button", { type: "button", class: "close", title: "Close (Esc)", "aria-label": "Close", onclick: closeRoom, "data-key": "close" }, "×"),
    ),
    errorBox(detail.errors.room),
    h("div", { class: "counts" },
      count("viewers now", stats.viewerCount || 0),
      count("peak viewers", stats.peakViewerCount || 0),
      count("publishers", stats.publisherCount || 0),
      count("co-hosts", `${participants.filter((p) => p.role === "PARTICIPANT_ROLE_CO_HOST").length} / ${room.maxCoHosts || 0}`),
    ),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "danger", disabled: ended, "data-key": "dismiss", onclick: () => dismissRoom(room) }, "Dismiss room…"),
      h("button", { type: "button", disabled: !recording(room), "data-key": "stop-recording", onclick: () => stopRecording(room) }, "Stop recording"),
      h("button", { type: "button", "data-key": "ban", onclick: () => banUser(room, "") }, "Ban a user…"),
    ),
    h("dl", { class: "facts" },
      fact("Host", room.hostUserId),
      fact("Type", enumLabel(room.type || "ROOM_TYPE_CO_HOSTS", "ROOM_TYPE_")),
      fact("Seats", enumLabel(room.seatTemplate || "", "SEAT_TEMPLATE_")),
      fact("Live since", room.liveTime ? `${stamp(room.liveTime)} (${ago(room.liveTime)})` : "—"),
      fact("Created", stamp(room.createTime)),
      room.endTime ? fact("Ended", stamp(room.endTime)) : null,
      fact("Chat", room.liveChatEnabled ? `on · ${room.liveChannelId || ""}` : "off"),
      room.ingressStatus ? fact("Ingress", enumLabel(room.ingressStatus, "INGRESS_STATUS_")) : null,
    ),

    section(`On stage (${participants.length})`, null,
      table(["User", "Role", "LiveKit", ""], participants.map((p) => {
        const host = p.role === "PARTICIPANT_ROLE_HOST";
        return [
          h("span", { class: "user", title: `on stage since ${stamp(p.joinTime)}` }, p.userId),
          host ? "host" : "co-host",
          h("span", { class: p.connected ? "dot on" : "dot", title: p.connected ? "connected to LiveKit" : "not connected" }, p.connected ? "connected" : "away"),
          h("span", { class: "row-actions" },
            button("Mute", `mute:${p.userId}`, () => mute(room, p.userId), ended),
            host ? null : button("Take off stage", `remove:${p.userId}`, () => takeOffStage(room, p.userId), ended),
            host ? null : button("Ban", `ban:${p.userId}`, () => banUser(room, p.userId), false, "danger"),
          ),
        ];
      })),
    ),

    section(`Moderators (${moderators.length})`, null,
      moderators.length
        ? h("ul", { class: "chips" }, moderators.map((m) => h("li", {}, h("span", { class: "user" }, m),
          button("Ban", `ban-mod:${m}`, () => banUser(room, m), false, "danger"))))
        : h("p", { class: "muted" }, "None named."),
    ),

    section(counted("Viewers", detail.viewers, detail.errors.viewers, detail.nextViewers), detail.errors.viewers,
      detail.viewers.length
        ? table(["User", "Watching since", ""], detail.viewers.map((v) => [
          h("span", { class: "user" }, v.userId), stamp(v.joinTime),
          h("span", { class: "row-actions" }, button("Ban", `ban-viewer:${v.userId}`, () => banUser(room, v.userId), false, "danger")),
        ]))
        : h("p", { class: "muted" }, "Nobody is watching."),
      detail.nextViewers ? button("Load more viewers", "more-viewers", moreViewers) : null,
    ),

    section(counted("Bans", detail.bans, detail.errors.bans), detail.errors.bans,
      detail.bans.length
        ? table(["User", "Reason", "By", "Since", "Expires", ""], detail.bans.map((b) => [
          h("span", { class: "user" }, b.userId), b.reason || "—", h("span", { class: "user" }, b.bannedByUserId || "—"),
          stamp(b.createTime), b.expireTime ? stamp(b.expireTime) : "never",
          h("span", { class: "row-actions" }, button("Unban", `unban:${b.userId}`, () => unban(room, b.userId))),
        ]))
        : h("p", { class: "muted" }, "Nobody is banned."),
    ),

    section(counted("Invitations and stage requests", detail.invitations, detail.errors.invitations), detail.errors.invitations,
      detail.errors.invitations
        ? null
        : detail.invitations.length
          ? table(["Kind", "User", "Status", "Answered by", "Created", "Expires"], detail.invitations.map((i) => [
            i.type === "INVITATION_TYPE_STAGE_REQUEST" ? "stage request" : "co-host invitation",
            h("span", { class: "user" }, i.userId),
            h("span", { class: `badge ${invitationClass(i.status)}` }, enumLabel(i.status || "", "INVITATION_STATUS_")),
            i.responderUserId || "—", stamp(i.createTime), stamp(i.expireTime),
          ]))
          : h("p", { class: "muted" }, "None."),
    ),

    section("Recording", null,
      h("dl", { class: "facts" },
        fact("Status", h("span", { class: `badge ${recordingClass(recordingStatus)}` }, recordingStatus === "RECORDING_STATUS_UNSPECIFIED" ? "not recording" : RECORDING_LABELS[recordingStatus])),
        fact("Auto record", room.autoRecord ? "yes" : "no"),
        room.livePlaybackUrl ? fact("Live playback", link(room.livePlaybackUrl)) : null,
      ),
      (room.recordedPlaybacks || []).length
        ? table(["Playback", "Duration"], room.recordedPlaybacks.map((p) => [link(p.url), duration(p.duration)]))
        : h("p", { class: "muted" }, "No recorded playbacks yet."),
    ),
  );
  if (focused) aside.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

function invitationClass(status) {
  return { INVITATION_STATUS_PENDING: "waiting", INVITATION_STATUS_ACCEPTED: "live" }[status] || "idle";
}

// ---------------------------------------------------------------------------------------------
// Actions: each calls one gateway RPC; destructive ones ask first.

function dismissRoom(room) {
  confirmAction({
    title: `Dismiss “${room.title}”?`,
    text: "The room ends for everyone: the host, co-hosts and viewers are removed from LiveKit. It cannot go live again.",
    ok: "Dismiss room",
    fields: [{ name: "reason", label: "Reason (kept with the room)", textarea: true, required: true }],
    run: ({ reason }) => client.call("DismissRoom", { roomId: room.roomId, reason }),
    done: `Dismissed ${room.title}`,
  });
}

function banUser(room, userId) {
  confirmAction({
    title: userId ? `Ban ${userId}?` : "Ban a user",
    text: `They lose the stage and every credential for “${room.title}”, and are put out of LiveKit.`,
    ok: "Ban",
    fields: [
      userId ? null : { name: "userId", label: "User id", required: true },
      { name: "reason", label: "Reason" },
      { name: "duration", label: "For", options: BAN_DURATIONS },
    ].filter(Boolean),
    run: (values) => {
      const request = { roomId: room.roomId, userId: userId || values.userId.trim(), reason: values.reason };
      if (values.duration) request.duration = values.duration;
      return client.call("BanUser", request);
    },
    done: `Banned ${userId || "the user"}`,
  });
}

function takeOffStage(room, userId) {
  confirmAction({
    title: `Take ${userId} off stage?`,
    text: "They stop publishing and keep watching as a viewer; their seat is freed.",
    ok: "Take off stage",
    run: () => client.call("RemoveParticipant", { roomId: room.roomId, userId }),
    done: `${userId} is off stage`,
  });
}

function stopRecording(room) {
  confirmAction({
    title: "Stop recording?",
    text: `The recording of “${room.title}” stops; what was recorded so far is kept as a playback.`,
    ok: "Stop recording",
    run: () => client.call("StopRecording", { roomId: room.roomId }),
    done: "Recording stopping",
  });
}

function mute(room, userId) {
  runAction(() => client.call("MuteParticipant", { roomId: room.roomId, userId, muted: true }), `Muted ${userId}`);
}

function unban(room, userId) {
  runAction(() => client.call("UnbanUser", { roomId: room.roomId, userId }), `Unbanned ${userId}`);
}

async function runAction(call, done) {
  try {
    applyRoom(await call());
    toast(done);
  } catch (error) {
    if (isUnauthenticated(error)) return signOut(error);
    toast(error, { error: true });
  }
}

function applyRoom(room) {
  if (!room?.roomId) return;
  onRoomEvent({ kind: "ROOM_EVENT_KIND_UPDATED", room });
  if (state.selected === room.roomId) loadDetail({ keepRoom: true });
}

function confirmAction({ title, text, ok, fields = [], run, done }) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = ok;
  $("confirm-ok").disabled = false;
  showError($("confirm-error"), null);
  const inputs = {};
  put($("confirm-fields"), ...fields.map((field) => {
    const id = `field-${field.name}`;
    let input;
    if (field.options) {
      input = h("select", { id }, field.options.map(([value, label]) => h("option", { value }, label)));
    } else if (field.textarea) {
      input = h("textarea", { id, rows: "3" });
    } else {
      input = h("input", { id, type: "text", autocomplete: "off" });
    }
    if (field.required) input.required = true;
    inputs[field.name] = input;
    return h("label", { for: id }, h("span", {}, field.label), input);
  }));
  const form = dialog.querySelector("form");
  form.onsubmit = async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name, input.value]));
    $("confirm-ok").disabled = true;
    try {
      const room = await run(values);
      dialog.close();
      applyRoom(room);
      toast(done);
    } catch (error) {
      if (isUnauthenticated(error)) {
        dialog.close();
        return signOut(error);
      }
      showError($("confirm-error"), error);
      $("confirm-ok").disabled = false;
    }
  };
  $("confirm-cancel").onclick = () => dialog.close();
  dialog.showModal();
  (Object.values(inputs)[0] || $("confirm-cancel")).focus();
}

// ---------------------------------------------------------------------------------------------
// Small pieces.

function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "disabled") node.disabled = Boolean(value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  return put(node, ...children);
}

// Replaces a node's children: nodes and text, nested lists flattened, null and false left out.
function put(node, ...children) {
  node.replaceChildren();
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function button(label, key, onclick, disabled = false, className = "") {
  return h("button", { type: "button", class: `small ${className}`, "data-key": key, disabled, onclick }, label);
}

// "Viewers (12)", "Viewers (100+)" with more pages, no count when the list failed.
function counted(title, items, error, more = "") {
  return error ? title : `${title} (${items.length}${more ? "+" : ""})`;
}

function section(title, error, ...body) {
  return h("section", { class: "part" }, h("h3", {}, title), errorBox(error), body);
}

function table(headings, rowsOfCells) {
  if (!rowsOfCells.length) return h("p", { class: "muted" }, "None.");
  return h("table", { class: "grid compact" },
    h("thead", {}, h("tr", {}, headings.map((t) => h("th", {}, t)))),
    h("tbody", {}, rowsOfCells.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))),
  );
}

function count(label, value) {
  return h("div", { class: "count" }, h("b", {}, String(value)), h("span", {}, label));
}

function fact(label, value) {
  return [h("dt", {}, label), h("dd", {}, value ?? "—")];
}

function link(url) {
  return h("a", { href: url, target: "_blank", rel: "noopener" }, url);
}

function errorBox(error) {
  if (!error) return null;
  const box = h("div", { class: "error", role: "alert" });
  fillError(box, error);
  return box;
}

function showError(box, error, prefix = "") {
  box.hidden = !error;
  if (error) fillError(box, error, prefix);
  else put(box);
}

// An error as the operator needs it: its code, its reason and its message.
function fillError(box, error, prefix = "") {
  if (!(error instanceof ConnectError)) {
    put(box, prefix, String(error?.message || error));
    return;
  }
  put(box, prefix,
    h("strong", { class: "code" }, error.code.toUpperCase()),
    error.reason ? h("code", { class: "reason" }, error.reason) : null,
    " ", error.message,
    error.violations.length
      ? h("ul", {}, error.violations.map((v) => h("li", {}, h("code", {}, v.field), ": ", v.description)))
      : null,
  );
}

function toast(message, { error = false } = {}) {
  const node = h("div", { class: error ? "toast error" : "toast", role: error ? "alert" : "status" });
  if (message instanceof Error) fillError(node, message);
  else node.textContent = message;
  $("toasts").append(node);
  setTimeout(() => node.remove(), error ? 12000 : 4000);
}

function isUnauthenticated(error) {
  return error instanceof ConnectError && error.code === "unauthenticated";
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function sum(items, value) {
  return items.reduce((total, item) => total + (value(item) || 0), 0);
}

function enumLabel(value, prefix) {
  return value ? value.replace(prefix, "").toLowerCase().replace(/_/g, " ") : "—";
}

function clock(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

function stamp(value) {
  if (!value) return "—";
  const date = new Date(value);
  const today = new Date().toDateString() === date.toDateString();
  return today ? clock(date) : `${date.toISOString().slice(0, 10)} ${clock(date)}`;
}

function ago(value) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(value)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`;
}

function duration(value) {
  if (!value) return "—";
  const seconds = Math.round(parseFloat(value));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// Wiring.

function moveFocus(step) {
  const list = [...$("rooms").tBodies[0].rows];
  if (!list.length) return;
  const at = list.indexOf(document.activeElement);
  const next = at < 0 ? 0 : Math.min(list.length - 1, Math.max(0, at + step));
  list[next].focus();
}

function wire() {
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("token").value);
  });
  $("token").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("sign-in-form").requestSubmit();
    }
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("refresh").addEventListener("click", () => refreshList());
  $("filter").addEventListener("input", (event) => {
    state.filter = event.target.value.trim();
    syncWatches();
    render();
  });
  const tbody = $("rooms").tBodies[0];
  tbody.addEventListener("click", (event) => {
    const tr = event.target.closest("tr[data-id]");
    if (tr) openRoom(tr.dataset.id);
  });
  const headings = $("rooms").tHead.rows[0].cells;
  COLUMNS.slice(0, 8).forEach((key, index) => {
    const th = headings[index];
    th.dataset.sort = key;
    th.tabIndex = 0;
    const sortBy = () => {
      state.sort = { key, descending: state.sort.key === key ? !state.sort.descending : true };
      syncWatches();
      render();
    };
    th.addEventListener("click", sortBy);
    th.addEventListener("keydown", (event) => event.key === "Enter" && sortBy());
  });
  document.addEventListener("keydown", (event) => {
    if (!state.me || $("confirm").open) return;
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName);
    if (event.key === "ArrowDown" && event.target === $("filter")) {
      event.preventDefault();
      moveFocus(1);
      return;
    }
    if (event.key === "Escape") {
      if (typing) event.target.blur();
      else if (state.selected) closeRoom();
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const row = event.target.closest?.("tr[data-id]");
    if (event.key === "/") {
      event.preventDefault();
      $("filter").focus();
    } else if (event.key === "r") {
      refreshList();
    } else if (event.key === "ArrowDown" || event.key === "j") {
      event.preventDefault();
      moveFocus(1);
    } else if (event.key === "ArrowUp" || event.key === "k") {
      event.preventDefault();
      moveFocus(-1);
    } else if (event.key === "Enter" && row) {
      openRoom(row.dataset.id);
    }
  });
  // Relative times ("12m") move on by themselves.
  setInterval(() => state.me && render(), 15000);
}

wire();
const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved, { remembered: true });
else showSignIn();
