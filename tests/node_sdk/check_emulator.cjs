// LiveKit's official Node server SDK (livekit-server-sdk) against the LiveKit emulator: a
// second client, independent of livekit-api, for RoomService, Egress and Ingress.
// Run by tests/integration/test_livekit_node_sdk.py with NODE_PATH=.local/node-sdk/node_modules
// and LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET. Prints one line per check, then
// "N passed, N failed"; exits 1 when a check failed.
const assert = require("node:assert/strict");
const {
  EgressClient,
  EgressStatus,
  EncodedFileOutput,
  IngressClient,
  IngressInput,
  RoomServiceClient,
  SegmentedFileOutput,
} = require("livekit-server-sdk");

const url = process.env.LIVEKIT_URL;
const key = process.env.LIVEKIT_API_KEY;
const secret = process.env.LIVEKIT_API_SECRET;

const rooms = new RoomServiceClient(url, key, secret);
const egress = new EgressClient(url, key, secret);
const ingress = new IngressClient(url, key, secret);

// Clients whose tokens lack the grant their service needs.
class EgressWithoutRecord extends EgressClient {
  async authHeader(_grant, sip) {
    return super.authHeader({ roomList: true }, sip);
  }
}
class IngressWithoutAdmin extends IngressClient {
  async authHeader(_grant, sip) {
    return super.authHeader({ roomRecord: true }, sip);
  }
}

async function control(path, body) {
  const response = await fetch(`${url}/emulator/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text);
}

async function codeOf(call) {
  try {
    await call();
  } catch (error) {
    return [error.code, error.status];
  }
  throw new Error("the call succeeded");
}

const checks = [];
function check(name, body) {
  checks.push([name, body]);
}

check("room service: create, list, list participants, delete", async () => {
  const room = await rooms.createRoom({ name: "node-room", maxParticipants: 4 });
  assert.match(room.sid, /^RM_/);
  assert.equal(room.maxParticipants, 4);
  const listed = await rooms.listRooms(["node-room"]);
  assert.deepEqual(
    listed.map((r) => r.name),
    ["node-room"],
  );
  await control("participants/join", { room: "node-room", identity: "host", name: "Host" });
  const participants = await rooms.listParticipants("node-room");
  assert.deepEqual(
    participants.map((p) => [p.identity, p.name]),
    [["host", "Host"]],
  );
  await rooms.deleteRoom("node-room");
  assert.deepEqual(await rooms.listRooms(["node-room"]), []);
});

check("room service: DeleteRoom of a missing room is not_found", async () => {
  assert.deepEqual(await codeOf(() => rooms.deleteRoom("no-such-room")), ["not_found", 404]);
});

check("egress: start, list, stop a room composite egress", async () => {
  await control("participants/join", { room: "node-stage", identity: "host" });
  const info = await egress.startRoomCompositeEgress("node-stage", {
    file: new EncodedFileOutput({ filepath: "{room_name}/show.mp4" }),
    segments: new SegmentedFileOutput({ playlistName: "hls/index.m3u8" }),
  });
  assert.match(info.egressId, /^EG_/);
  assert.equal(info.status, EgressStatus.EGRESS_STARTING);
  assert.equal(info.roomName, "node-stage");
  assert.deepEqual(
    info.fileResults.map((f) => f.filename),
    ["node-stage/show.mp4"],
  );
  assert.deepEqual(
    info.segmentResults.map((s) => s.playlistName),
    ["hls/index.m3u8"],
  );
  const listed = await egress.listEgress({ roomName: "node-stage" });
  assert.deepEqual(
    listed.map((e) => e.egressId),
    [info.egressId],
  );
  const byId = await egress.listEgress({ egressId: info.egressId, active: true });
  assert.equal(byId.length, 1);
  // Wait until it is ACTIVE, so that the stop goes through ENDING.
  for (let i = 0; i < 50; i++) {
    const [current] = await egress.listEgress({ egressId: info.egressId });
    if (current.status === EgressStatus.EGRESS_ACTIVE) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const stopped = await egress.stopEgress(info.egressId);
  assert.equal(stopped.status, EgressStatus.EGRESS_ENDING);
});

check("egress: StopEgress of an unknown id is not_found", async () => {
  assert.deepEqual(await codeOf(() => egress.stopEgress("EG_unknown")), ["not_found", 404]);
});

check("egress: StartRoomCompositeEgress of a missing room is not_found", async () => {
  const file = new EncodedFileOutput({ filepath: "x.mp4" });
  assert.deepEqual(
    await codeOf(() => egress.startRoomCompositeEgress("no-such-room", { file })),
    ["not_found", 404],
  );
});

check("egress: a token without roomRecord is unauthenticated", async () => {
  const client = new EgressWithoutRecord(url, key, secret);
  assert.deepEqual(await codeOf(() => client.listEgress({})), ["unauthenticated", 401]);
});

check("ingress: create, list, delete", async () => {
  const info = await ingress.createIngress(IngressInput.RTMP_INPUT, {
    name: "studio",
    roomName: "node-stage",
    participantIdentity: "studio-cam",
    participantName: "Studio",
  });
  assert.match(info.ingressId, /^IN_/);
  assert.ok(info.streamKey.length > 0);
  assert.match(info.url, /^rtmp:\/\//);
  const listed = await ingress.listIngress({ roomName: "node-stage" });
  assert.deepEqual(
    listed.map((i) => i.ingressId),
    [info.ingressId],
  );
  const deleted = await ingress.deleteIngress(info.ingressId);
  assert.equal(deleted.ingressId, info.ingressId);
  assert.deepEqual(await ingress.listIngress({ roomName: "node-stage" }), []);
});

check("ingress: DeleteIngress of an unknown id is not_found", async () => {
  assert.deepEqual(await codeOf(() => ingress.deleteIngress("IN_unknown")), ["not_found", 404]);
});

check("ingress: a token without ingressAdmin is unauthenticated", async () => {
  const client = new IngressWithoutAdmin(url, key, secret);
  assert.deepEqual(await codeOf(() => client.listIngress({})), ["unauthenticated", 401]);
});

(async () => {
  let passed = 0;
  let failed = 0;
  for (const [name, body] of checks) {
    try {
      await body();
      passed++;
      console.log(`ok - ${name}`);
    } catch (error) {
      failed++;
      console.log(`not ok - ${name}: ${error && error.stack ? error.stack : error}`);
    }
  }
  console.log(`node-sdk: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
