// The acknowledgement scenario of issue 36, with stock @automerge/automerge-repo clients:
// 20 clients on one run (1 writer, 19 readers), a write every 5 ms, 500 writes, repeated
// on a fresh relay each time. Reports, per repetition, how long the writer waited for the
// relay to acknowledge each write (the first sync message from the relay whose heads hold
// it) and how long each write took to reach each reader. Prints a table; not a test.
//
//   cargo build --release -p runmesh-relay
//   RUNMESH_RELAY_BIN=target/release/runmesh-relay node tests/interop/bench-acks.mjs
//
// RUNMESH_BENCH_REPEAT (10), RUNMESH_BENCH_WRITES (500), RUNMESH_BENCH_INTERVAL_MS (5).
// One clock: every client lives in this process.
import { readFileSync } from 'node:fs';
import * as A from '@automerge/automerge';
import { Repo } from '@automerge/automerge-repo';
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket';
import { startRelay } from './relay.mjs';

const CLIENTS = 20;
const REPEAT = Number(process.env.RUNMESH_BENCH_REPEAT ?? 10);
const WRITES = Number(process.env.RUNMESH_BENCH_WRITES ?? 500);
const INTERVAL_MS = Number(process.env.RUNMESH_BENCH_INTERVAL_MS ?? 5);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function relayCpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function until(what, check, ms = 120_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** One repetition on a fresh relay: the writer's acknowledgement and the readers' arrival times. */
async function once() {
  const relay = await startRelay('bench', { args: ['--rate-limit-per-minute', '1000000'] });
  try {
    const res = await fetch(`${relay.http}/api/crdt/runs`, {
      method: 'POST',
      body: JSON.stringify({ title: 'Bench', steps: ['plan', 'build', 'ship'] }),
    });
    const { documentId } = await res.json();
    const url = `automerge:${documentId}`;
    const repos = [];
    const handles = [];
    let writerAdapter;
    for (let i = 0; i < CLIENTS; i++) {
      const adapter = new WebSocketClientAdapter(relay.ws, 100);
      if (i === 0) writerAdapter = adapter;
      const repo = new Repo({ network: [adapter], peerId: `bench-${i}` });
      repos.push(repo);
      const handle = await repo.find(url);
      await handle.whenReady();
      handles.push(handle);
    }
    // The writer's writes, in order, and when the relay acknowledged each.
    const writes = []; // { at, hash, ackedAt }
    let firstUnacked = 0;
    writerAdapter.on('message', (msg) => {
      if (msg.type !== 'sync' || msg.documentId !== documentId) return;
      const heads = new Set(A.decodeSyncMessage(msg.data).heads);
      const now = performance.now();
      let last = -1;
      for (let j = writes.length - 1; j >= firstUnacked; j--) {
        if (heads.has(writes[j].hash)) {
          last = j;
          break;
        }
      }
      for (; firstUnacked <= last; firstUnacked++) writes[firstUnacked].ackedAt = now;
    });
    const arrivals = [];
    let seen = 0;
    for (const handle of handles.slice(1)) {
      handle.on('change', ({ patches }) => {
        const now = performance.now();
        for (const p of patches) {
          if (p.action === 'put' && p.path.length === 3 && p.path[0] === 'grafts') {
            const sent = JSON.parse(String(p.value)).at;
            arrivals.push(now - sent);
            seen += 1;
          }
        }
      });
    }
    const writer = handles[0];
    const relay0 = relayCpuMs(relay.pid);
    for (let i = 0; i < WRITES; i++) {
      const at = performance.now();
      const record = JSON.stringify({ after: 'plan', agentName: `w-${i}`, by: 'u', region: 'bench', lamport: i + 1, at });
      writer.change((d) => {
        d.grafts['00'][`w-${i}`] = new A.ImmutableString(record);
      });
      writes.push({ at, hash: A.getHeads(writer.doc())[0], ackedAt: undefined });
      await sleep(INTERVAL_MS);
    }
    await until('every write to be acknowledged', () => firstUnacked >= writes.length);
    await until('every reader to hold every write', () => seen >= WRITES * (CLIENTS - 1));
    const relayMs = relayCpuMs(relay.pid) - relay0;
    await Promise.all(repos.map((r) => r.shutdown()));
    const acks = writes.map((w) => w.ackedAt - w.at);
    return {
      ack50: percentile(acks, 50),
      ack99: percentile(acks, 99),
      fan50: percentile(arrivals, 50),
      fan99: percentile(arrivals, 99),
      relayMs,
    };
  } finally {
    await relay.stop();
  }
}

const f = (x) => x.toFixed(1);
console.log(`${CLIENTS} stock clients (1 writer), a write every ${INTERVAL_MS} ms, ${WRITES} writes, ${REPEAT} repetitions`);
console.log('| # | ack p50 / p99 (ms) | fan-out p50 / p99 (ms) | relay CPU (ms) |');
console.log('| --- | --- | --- | --- |');
for (let r = 1; r <= REPEAT; r++) {
  const x = await once();
  console.log(`| ${r} | ${f(x.ack50)} / ${f(x.ack99)} | ${f(x.fan50)} / ${f(x.fan99)} | ${f(x.relayMs)} |`);
}
process.exit(0);
