// The RunDoc API of the built package: operations, errors, merge, save/load, events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runmesh } from './package.mjs';

const { RunDoc, init } = runmesh;
await init();

const steps = ['plan', { id: 'build', name: 'Build', agent: 'Builder' }, 'ship'];

test('create, graft, prune, restore and flags give the documented state', () => {
  const doc = RunDoc.create({ title: 'Release 42', steps, region: 'us-east-1', user: 'alice' });
  const g1 = doc.graft('plan', 'SecurityAgent');
  const g2 = doc.graft(g1, 'Reviewer');
  assert.match(g1, /^g\d{10}-[0-9a-f]{12}$/);
  assert.equal(doc.prune('ship'), true);
  assert.equal(doc.prune('ship'), false, 'already pruned');
  doc.setFlag('priority', 'high');
  doc.setFlag('retries', 3);
  doc.setFlag('dryRun', false);
  assert.equal(doc.clearFlag('dryRun'), true);
  assert.equal(doc.clearFlag('dryRun'), false);

  const state = doc.state();
  assert.equal(state.runId, doc.runId);
  assert.equal(state.title, 'Release 42');
  assert.deepEqual(state.steps[1], { id: 'build', name: 'Build', agent: 'Builder' });
  assert.deepEqual(
    state.pipeline.map((n) => [n.id === g1 || n.id === g2 ? n.name : n.id, n.kind, n.depth, n.pruned]),
    [
      ['plan', 'step', 0, false],
      ['SecurityAgent', 'graft', 1, false],
      ['Reviewer', 'graft', 2, false],
      ['build', 'step', 0, false],
      ['ship', 'step', 0, true],
    ],
  );
  assert.deepEqual(state.flags, { priority: 'high', retries: 3 });
  assert.deepEqual(state.flagConflicts, {});
  assert.deepEqual(state.grafts.map((g) => [g.agentName, g.after, g.by, g.region]), [
    ['SecurityAgent', 'plan', 'alice', 'us-east-1'],
    ['Reviewer', g1, 'alice', 'us-east-1'],
  ]);
  assert.equal(state.prunedSteps[0].id, 'ship');
  assert.equal(doc.restore('ship'), true);
  assert.equal(doc.state().prunedSteps.length, 0);
  assert.equal(doc.graftCount, 2);
  assert.ok(doc.lamport >= state.grafts[1].lamport);

  const history = doc.history();
  assert.deepEqual(
    history.map((h) => h.op),
    ['create', 'graft', 'graft', 'prune', 'setFlag', 'setFlag', 'setFlag', 'clearFlag', 'restore'],
  );
  assert.equal(history[1].by, 'alice');
  assert.equal(history[1].region, 'us-east-1');
  assert.equal(history[1].node, g1);
});

test('bad input arrives as an Error that names what was wrong, and nothing is written', () => {
  const doc = RunDoc.create({ title: 'T', steps, user: 'bob' });
  const heads = doc.heads();
  assert.throws(() => doc.graft('nope', 'A'), { name: 'Error', message: /unknown anchor "nope"/ });
  assert.throws(() => doc.graft('plan', '   '), /agent name is empty/);
  assert.throws(() => doc.graft('plan', 'x'.repeat(500)), /500 characters long, the limit is/);
  assert.throws(() => doc.prune('ghost'), /unknown node "ghost"/);
  assert.throws(() => doc.setFlag('k', { nested: true }), /invalid value for flag "k": an object/);
  assert.throws(() => doc.setFlag('k', undefined), { name: 'TypeError', message: /undefined/ });
  assert.throws(() => doc.graft(42, 'A'), { name: 'TypeError', message: /after must be a string/ });
  assert.deepEqual(doc.heads(), heads, 'nothing was written');

  assert.throws(() => RunDoc.create({ steps: ['a', 'a'] }), /step id "a" appears twice/);
  assert.throws(() => RunDoc.create({ runId: 'not-a-uuid' }), /invalid run id "not-a-uuid"/);
  assert.throws(() => RunDoc.create({ steps: [{ name: 'no id' }] }), /steps must be an array/);
  assert.throws(() => RunDoc.load(new Uint8Array([1, 2, 3])), /refused document bytes \(3 bytes\): chunk header declares 4 bytes/);
  assert.throws(() => RunDoc.load('bytes'), /Uint8Array/);
  const bare = RunDoc.empty(doc.runId);
  assert.throws(() => RunDoc.load(bare.save()), /pass the run id/);
  assert.equal(RunDoc.load(bare.save(), { runId: doc.runId }).runId, doc.runId);
  const other = RunDoc.create();
  assert.throws(
    () => RunDoc.load(doc.save(), { runId: other.runId }),
    new RegExp(`are run ${doc.runId}, not run ${other.runId}`),
    'bytes of one run are not opened as another',
  );
  assert.throws(() => doc.merge(RunDoc.create()), /cannot merge run/);
});

test('concurrent grafts after one step merge to one order on both replicas', () => {
  const us = RunDoc.create({ title: 'R', steps, region: 'us-east-1', user: 'alice' });
  const eu = RunDoc.load(us.save(), { region: 'eu-central-1', user: 'bob' });
  us.graft('plan', 'SecurityAgent');
  eu.graft('plan', 'PerformanceAgent');
  us.setFlag('mode', 'fast');
  eu.setFlag('mode', 'safe');
  assert.equal(us.merge(eu), true);
  assert.equal(eu.merge(us), true);
  assert.equal(us.merge(eu), false, 'nothing new');
  const a = us.state();
  assert.deepEqual(a, eu.state());
  assert.deepEqual(us.heads(), eu.heads());
  assert.deepEqual(
    a.pipeline.filter((n) => n.kind === 'graft').map((n) => n.name),
    ['PerformanceAgent', 'SecurityAgent'],
    'equal lamport: eu-central-1 before us-east-1',
  );
  assert.deepEqual([...a.flagConflicts.mode].sort(), ['fast', 'safe']);
});

test('save/load and incremental saves round-trip', () => {
  const doc = RunDoc.create({ title: 'R', steps, user: 'carol' });
  const full = doc.save();
  doc.graft('build', 'Linter');
  const chunk = doc.saveIncremental();
  const copy = RunDoc.load(full);
  assert.equal(copy.runId, doc.runId, 'the bytes name their run');
  assert.equal(copy.applyChanges(chunk), true);
  assert.equal(copy.applyChanges(chunk), false, 'duplicate chunks change nothing');
  assert.deepEqual(copy.state(), doc.state());
  const again = RunDoc.load(doc.save().buffer);
  assert.deepEqual(again.state(), doc.state());
});

test('change events say whether a change was local', () => {
  const a = RunDoc.create({ steps, user: 'a' });
  const b = RunDoc.load(a.save(), { user: 'b' });
  const seen = [];
  const off = a.onChange((e) => seen.push(e.local));
  a.graft('plan', 'X');
  b.graft('plan', 'Y');
  a.merge(b);
  a.prune('plan');
  a.prune('plan'); // no change: no event
  off();
  a.restore('plan');
  assert.deepEqual(seen, [true, false, true]);
});

test('stateAt shows the run as it was, diff says what changed since and who did it', () => {
  const doc = RunDoc.create({ title: 'Past', steps, region: 'eu-west-1', user: 'dana' });
  const first = doc.graft('plan', 'Alpha');
  const then = doc.heads();
  doc.graft('build', 'Beta');
  doc.prune(first);
  doc.setFlag('stage', 'final');

  const past = doc.stateAt(then);
  assert.deepEqual(past.grafts.map((g) => g.agentName), ['Alpha']);
  assert.equal(past.prunedSteps.length, 0);
  assert.equal(doc.state().grafts.length, 2, 'reading the past leaves the present alone');

  const diff = doc.diff(then);
  assert.deepEqual(diff.graftsAdded.map((g) => [g.agentName, g.by, g.region]), [['Beta', 'dana', 'eu-west-1']]);
  assert.deepEqual(diff.pruned.map((m) => m.id), [first]);
  assert.deepEqual(diff.flags, [{ key: 'stage', after: 'final', by: 'dana', region: 'eu-west-1', at: diff.flags[0].at }]);
  assert.deepEqual(diff.changes.map((c) => c.op), ['graft', 'prune', 'setFlag']);
  assert.equal(doc.diff(then, then).changes.length, 0);

  assert.throws(() => doc.stateAt(['ab'.repeat(32)]), /at: this run has no change abab/);
  assert.throws(() => doc.stateAt(['nothex']), /at: "nothex" is not a change hash/);
  assert.throws(() => doc.diff([]), /from must be a non-empty array of change hashes/);
});

test('undo reverses one change, fork starts a run from a point, mergeFrom brings it back', () => {
  const doc = RunDoc.create({ title: 'Undo', steps, region: 'eu-west-1', user: 'dana' });
  const alpha = doc.graft('plan', 'Alpha');
  const grafted = doc.history().at(-1).hash;
  const events = [];
  doc.onChange((e) => events.push(e.local));

  const undo = doc.undo(grafted);
  assert.match(undo, /^[0-9a-f]{64}$/);
  assert.deepEqual(events, [true]);
  const state = doc.state();
  assert.ok(!state.pipeline.some((n) => n.id === alpha), 'Alpha left the pipeline');
  assert.equal(state.grafts[0].retracted.by, 'dana', 'and stays, marked retracted');
  const last = doc.history().at(-1);
  assert.deepEqual([last.op, last.undoes], ['retract', grafted]);
  assert.deepEqual(doc.diff([grafted]).retracted.map((g) => g.agentName), ['Alpha']);
  assert.throws(() => doc.undo(grafted), /cannot be undone: graft .* was retracted since/);
  assert.throws(() => doc.undo(doc.history()[0].hash), /cannot be undone: it creates the run/);
  assert.throws(() => doc.undo('nothex'), /change: "nothex" is not a change hash/);

  const fork = doc.fork({ at: [grafted] });
  assert.notEqual(fork.runId, doc.runId);
  assert.deepEqual(fork.forkOf, { run: doc.runId, at: [grafted] });
  assert.equal(doc.forkOf, null);
  assert.ok(fork.state().pipeline.some((n) => n.name === 'Alpha'), 'the fork starts before the undo');
  fork.graft('ship', 'Tried');
  assert.equal(doc.mergeFrom(fork), true);
  const names = doc.state().pipeline.map((n) => n.name);
  assert.ok(names.includes('Tried') && !names.includes('Alpha'), names.join());
  assert.equal(doc.state().runId, doc.runId);
  assert.equal(doc.history().at(-1).op, 'merge');
  assert.equal(doc.mergeFrom(fork), false, 'nothing new');

  const stranger = RunDoc.create({ title: 'Other', steps: ['x'] });
  assert.throws(() => doc.mergeFrom(stranger), /shares no history/);
  assert.throws(() => doc.mergeFrom({}), /mergeFrom\(\) takes another RunDoc/);
});
