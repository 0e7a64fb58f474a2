// JavaScript end to end: 20 clients on one run through the real relay, once with
// runmesh's own client (`connect()` from the built npm package) and once with stock
// @automerge/automerge-repo clients, same workload. Prints a table; not a test.
//
//   cargo build --release -p runmesh-relay && bash scripts/build-npm.sh
//   RUNMESH_RELAY_BIN=target/release/runmesh-relay node tests/interop/bench-clients.mjs
//
// Workload, on a fresh relay for each side:
//   fan-out:    5 writers each graft once every RUNMESH_BENCH_INTERVAL_MS (20) until
//               RUNMESH_BENCH_GRAFTS (100) each; latency is from the write to its arrival
//               at each of the 19 other clients (one clock: all clients share this process).
//   throughput: the 5 writers graft RUNMESH_BENCH_BURST (200) each as fast as they can;
//               changes/s until every client holds every graft.
// Client CPU is this process's (all 20 clients and the harness), relay CPU the relay
// process's, both over the phase.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import * as A from '@automerge/automerge';
import { Repo } from '@automerge/automerge-repo';
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket';
import { runmesh } from '../npm/package.mjs';
import { startRelay } from './relay.mjs';

const CLIENTS = 20;
const WRITERS = 5;
const GRAFTS = Number(process.env.RUNMESH_BENCH_GRAFTS ?? 100);
const INTERVAL_MS = Number(process.env.RUNMESH_BENCH_INTERVAL_MS ?? 20);
const BURST = Number(process.env.RUNMESH_BENCH_BURST ?? 200);
const TICKS = 100; // /proc clock ticks per second on Linux

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function relayCpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function until(what, check, ms = 120_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A graft's agent name carries who wrote it and when: `w<writer>-<seq>-<ms>`. */
function stamp(writer, seq) {
  return `w${writer}-${seq}-${performance.now().toFixed(3)}`;
}

function sentAt(name) {
  return Number(name.split('-')[2]);
}

/** What one client has received: how many grafts, and each one's latency. */
function tally() {
  return {
    seen: 0,
    latencies: [],
    reset() {
      this.seen = 0;
      this.latencies = [];
    },
    arrived(now, name) {
      this.seen += 1;
      this.latencies.push(now - sentAt(name));
    },
  };
}

/** runmesh's client: each replica learns what arrived from `diff` since its last heads. */
async function runmeshClients(relay, runId) {
  const { connect } = runmesh;
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    const conn = connect(relay.ws, runId, { WebSocket, region: 'bench', user: `u${i}` });
    await conn.synced({ timeoutMs: 30_000 });
    const state = tally();
    let heads = conn.doc.heads();
    conn.doc.onChange(({ local }) => {
      if (local) {
        heads = conn.doc.heads();
        return;
      }
      const now = performance.now();
      const diff = conn.doc.diff(heads);
      heads = diff.to;
      for (const g of diff.graftsAdded) {
        if (g.by !== `u${i}`) state.arrived(now, g.agentName);
      }
    });
    clients.push({
      state,
      graft(name) {
        conn.doc.graft('plan', name);
      },
      close() {
        conn.close();
      },
    });
  }
  return clients;
}

/** Stock automerge-repo clients: they write grafts in runmesh's stored form and learn
 * what arrived from the change event's patches. */
async function repoClients(relay, documentId) {
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    const repo = new Repo({ network: [new WebSocketClientAdapter(relay.ws, 100)], peerId: `bench-${i}` });
    const handle = await repo.find(`automerge:${documentId}`);
    await handle.whenReady();
    const state = tally();
    // The event does not say whether a change was this client's own; its ids do.
    const own = `x${i}-`;
    handle.on('change', ({ patches }) => {
      const now = performance.now();
      for (const p of patches) {
        if (p.action === 'put' && p.path.length === 3 && p.path[0] === 'grafts' && !p.path[2].startsWith(own)) {
          state.arrived(now, JSON.parse(String(p.value)).agentName);
        }
      }
    });
    let seq = 0;
    clients.push({
      state,
      graft(name) {
        seq += 1;
        const id = `x${i}-${seq}`;
        const record = JSON.stringify({ after: 'plan', agentName: name, by: `u${i}`, region: 'bench', lamport: seq, at: Date.now() });
        // A plain JS string would become collaborative text; runmesh stores a graft as
        // one immutable string.
        handle.change((d) => {
          d.grafts['00'][id] = new A.ImmutableString(record);
        });
      },
      close() {
        return repo.shutdown();
      },
    });
  }
  return clients;
}

/** One phase: every writer grafts `count` times, `interval` ms apart (0: back to back). */
async function phase(relay, clients, count, interval) {
  for (const c of clients) c.state.reset();
  const cpu0 = process.cpuUsage();
  const relay0 = relayCpuMs(relay.pid);
  const t0 = performance.now();
  for (let seq = 0; seq < count; seq++) {
    for (let w = 0; w < WRITERS; w++) clients[w].graft(stamp(w, seq));
    if (interval > 0) await sleep(interval);
    else if (seq % 10 === 9) await sleep(0); // let the sockets breathe
  }
  const expected = (WRITERS - 1) * count; // a writer sees the other writers' grafts
  const others = WRITERS * count;
  await until('every client to hold every graft', () =>
    clients.every((c, i) => c.state.seen >= (i < WRITERS ? expected : others)),
  );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const latencies = clients.flatMap((c) => c.state.latencies);
  return {
    wallMs,
    changesPerS: (WRITERS * count) / (wallMs / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: percentile(latencies, 100),
    clientCpuMs: (cpu.user + cpu.system) / 1000,
    relayCpuMs: relayCpuMs(relay.pid) - relay0,
  };
}

async function side(name, make) {
  const relay = await startRelay('bench');
  try {
    const res = await fetch(`${relay.http}/api/crdt/runs`, {
      method: 'POST',
      body: JSON.stringify({ title: 'Bench', steps: ['plan', 'build', 'ship'] }),
    });
    const created = await res.json();
    const clients = await make(relay, created);
    const fanout = await phase(relay, clients, GRAFTS, INTERVAL_MS);
    const burst = await phase(relay, clients, BURST, 0);
    await Promise.all(clients.map((c) => c.close()));
    return { name, fanout, burst };
  } finally {
    await relay.stop();
  }
}

const results = [
  await side('runmesh connect()', (relay, run) => runmeshClients(relay, run.runId)),
  await side('@automerge/automerge-repo 2.5.6', (relay, run) => repoClients(relay, run.documentId)),
];
const f = (x) => x.toFixed(1);
console.log(`${CLIENTS} clients, ${WRITERS} writers; fan-out: ${GRAFTS} grafts each every ${INTERVAL_MS} ms; burst: ${BURST} each`);
console.log('| client | fan-out p50 / p99 / max (ms) | fan-out client CPU / relay CPU (ms) | burst changes/s | burst client CPU / relay CPU (ms) |');
console.log('| --- | --- | --- | --- | --- |');
for (const { name, fanout, burst } of results) {
  console.log(
    `| ${name} | ${f(fanout.p50)} / ${f(fanout.p99)} / ${f(fanout.max)} | ${f(fanout.clientCpuMs)} / ${f(fanout.relayCpuMs)} | ${f(burst.changesPerS)} | ${f(burst.clientCpuMs)} / ${f(burst.relayCpuMs)} |`,
  );
}
process.exit(0);
