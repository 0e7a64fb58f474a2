// The same run-document workload through `runmesh` (the built package) and through
// `@automerge/automerge` side by side in one process: a 10,000-graft run built one graft
// per change, then one more graft, a whole-state read (pipeline with grafts in place),
// and a load of the saved run. Prints a table; not a test.
//   node bench.mjs            (RUNMESH_BENCH_GRAFTS=10000, RUNMESH_BENCH_SAMPLES=20)
import * as Automerge from '@automerge/automerge';
import { runmesh } from './package.mjs';

const GRAFTS = Number(process.env.RUNMESH_BENCH_GRAFTS ?? 10_000);
const SAMPLES = Number(process.env.RUNMESH_BENCH_SAMPLES ?? 20);
const STEPS = ['plan', 'build', 'test', 'ship'];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** Anchor of graft i: mostly steps, every fifth after an earlier graft. */
function anchor(i, ids) {
  return i % 5 === 4 && ids.length > 0 ? ids[(i * 7919) % ids.length] : STEPS[i % STEPS.length];
}

function runmeshSide() {
  const { RunDoc } = runmesh;
  const doc = RunDoc.create({ title: 'Bench', steps: STEPS, region: 'us-east-1', user: 'bench' });
  const ids = [];
  let before = [];
  let midpoint = [];
  const buildMs = time(() => {
    for (let i = 0; i < GRAFTS; i++) {
      ids.push(doc.graft(anchor(i, ids), `Agent${i}`));
      if (i + 1 === GRAFTS / 2 - 1000) before = doc.heads();
      if (i + 1 === GRAFTS / 2) midpoint = doc.heads();
    }
  });
  // The past: the run at its midpoint, and what changed over the 1,000 grafts before it.
  const stateAt = median(Array.from({ length: SAMPLES }, () => time(() => doc.stateAt(midpoint))));
  const diff = median(Array.from({ length: SAMPLES }, () => time(() => doc.diff(before, midpoint))));
  const graft = median(Array.from({ length: SAMPLES }, (_, i) => time(() => doc.graft(anchor(i, ids), 'One'))));
  let nodes = 0;
  const read = median(Array.from({ length: SAMPLES }, () => time(() => (nodes = doc.state().pipeline.length))));
  const bytes = doc.save();
  const loads = Math.min(SAMPLES, 10);
  // runmesh reads the view on first use, so load alone and load plus a first read differ.
  const load = median(Array.from({ length: loads }, () => time(() => RunDoc.load(bytes).free())));
  const loadRead = median(
    Array.from({ length: loads }, () =>
      time(() => {
        const loaded = RunDoc.load(bytes);
        loaded.state();
        loaded.free();
      }),
    ),
  );
  return { buildMs, graft, read, load, loadRead, bytes: bytes.length, nodes, stateAt, diff };
}

/** The pipeline from plain data, as runmesh orders it: grafts after their anchor by (lamport, region, user, id). */
function pipeline(steps, grafts) {
  const after = new Map();
  for (const [id, g] of Object.entries(grafts)) {
    if (!after.has(g.after)) after.set(g.after, []);
    after.get(g.after).push({ id, ...g });
  }
  const key = (g) => [g.lamport, g.region, g.by, g.id];
  const cmp = (a, b) => {
    const ka = key(a), kb = key(b);
    for (let i = 0; i < 4; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
    return 0;
  };
  const out = [];
  const place = (id, depth) => {
    for (const g of (after.get(id) ?? []).sort(cmp)) {
      out.push({ id: g.id, name: g.agentName, depth });
      place(g.id, depth + 1);
    }
  };
  for (const s of steps) {
    out.push({ id: s.id, name: s.name, depth: 0 });
    place(s.id, 1);
  }
  return out;
}

function automergeSide() {
  let doc = Automerge.from({
    title: 'Bench',
    steps: STEPS.map((id) => ({ id, name: id })),
    grafts: {},
    pruned: {},
    flags: {},
  });
  let lamport = 0;
  const ids = [];
  const add = (after, agentName) => {
    const id = `g${String(++lamport).padStart(10, '0')}-bench`;
    doc = Automerge.change(doc, (d) => {
      d.grafts[id] = { after, agentName, by: 'bench', region: 'us-east-1', lamport, at: Date.now() };
    });
    return id;
  };
  const buildMs = time(() => {
    for (let i = 0; i < GRAFTS; i++) ids.push(add(anchor(i, ids), `Agent${i}`));
  });
  const graft = median(Array.from({ length: SAMPLES }, (_, i) => time(() => add(anchor(i, ids), 'One'))));
  let nodes = 0;
  const read = median(
    Array.from({ length: SAMPLES }, () =>
      time(() => {
        const plain = Automerge.toJS(doc);
        nodes = pipeline(plain.steps, plain.grafts).length;
      }),
    ),
  );
  const bytes = Automerge.save(doc);
  const loads = Math.min(SAMPLES, 10);
  const load = median(Array.from({ length: loads }, () => time(() => Automerge.load(bytes))));
  const loadRead = median(
    Array.from({ length: loads }, () =>
      time(() => {
        const plain = Automerge.toJS(Automerge.load(bytes));
        pipeline(plain.steps, plain.grafts);
      }),
    ),
  );
  return { buildMs, graft, read, load, loadRead, bytes: bytes.length, nodes };
}

const ours = runmeshSide();
const theirs = automergeSide();
if (ours.nodes !== theirs.nodes) throw new Error(`pipelines differ in length: ${ours.nodes} vs ${theirs.nodes}`);
const row = (what, a, b, unit = 'ms') =>
  console.log(`| ${what} | ${a.toFixed(3)} ${unit} | ${b.toFixed(3)} ${unit} | ${(b / a).toFixed(1)}× |`);
console.log(`${GRAFTS} grafts, one per change; medians of ${SAMPLES} (load: ${Math.min(SAMPLES, 10)}); node ${process.version}`);
console.log('| operation | runmesh | @automerge/automerge 3.5.0 | runmesh faster by |');
console.log('| --- | --- | --- | --- |');
row('one graft on the run', ours.graft, theirs.graft);
row('read the whole state (pipeline)', ours.read, theirs.read);
row('load the saved run', ours.load, theirs.load);
row('load, then read the whole state', ours.loadRead, theirs.loadRead);
row(`build the run (${GRAFTS} grafts)`, ours.buildMs, theirs.buildMs);
console.log(`| saved size | ${ours.bytes} B | ${theirs.bytes} B | |`);
console.log(`runmesh only: the run at its midpoint (stateAt) ${ours.stateAt.toFixed(3)} ms; diff over the 1,000 grafts before it ${ours.diff.toFixed(3)} ms`);
