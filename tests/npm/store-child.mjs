// A process embedding runmesh with a directory store, for store.test.mjs:
//   node store-child.mjs fetch   URL RUN DIR        open, sync, store, exit
//   node store-child.mjs edit    URL RUN DIR AGENT  graft AGENT, wait for the store, say "stored", then idle
//   node store-child.mjs deliver URL RUN DIR        open, sync, print the agents the relay took
import WebSocket from 'ws';
import { runmesh } from './package.mjs';

const { open, directoryStore } = runmesh;
const [mode, url, runId, dir, agent] = process.argv.slice(2);
const conn = await open(url, runId, { store: directoryStore(dir), WebSocket, minDelayMs: 50, maxDelayMs: 200 });
if (mode === 'fetch' || mode === 'deliver') {
  await conn.synced();
  await conn.stored();
  const agents = conn.doc.state().grafts.map((g) => g.agentName);
  conn.close();
  console.log(JSON.stringify({ agents }));
  process.exit(0);
}
if (mode === 'edit') {
  conn.doc.graft('a', agent);
  await conn.stored();
  console.log('stored');
  setInterval(() => {}, 1_000); // idle until killed
}
