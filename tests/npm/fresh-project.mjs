// Runs in a fresh project that installed the packed tarball: uses the package by name.
import assert from 'node:assert/strict';
import { init, RunDoc } from 'runmesh';

await init();
const doc = RunDoc.create({ title: 'From the tarball', steps: ['a'], user: 'packer' });
const id = doc.graft('a', 'Agent');
const copy = RunDoc.load(doc.save());
assert.equal(copy.state().grafts[0].id, id);
assert.throws(() => doc.graft('zzz', 'Agent'), /unknown anchor "zzz"/);
console.log('runmesh from the tarball works:', copy.state().pipeline.map((n) => n.name).join(' → '));
