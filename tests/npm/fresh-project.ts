// Type-checked (not run) in the fresh project: the declarations must describe real use.
import { connect, init, RunDoc, type ForkOf, type PipelineNode, type RunDiff, type RunState } from 'runmesh';

await init();
const doc: RunDoc = RunDoc.create({ title: 'Typed', steps: ['a', { id: 'b', agent: 'Builder' }] });
const graftId: string = doc.graft('a', 'Agent');
const state: RunState = doc.state();
const grafts: PipelineNode[] = state.pipeline.filter((n) => n.kind === 'graft');
const flag: string | number | boolean | null | undefined = state.flags['mode'];
const pruned: boolean = doc.prune(graftId);
const then: RunState = doc.stateAt(doc.heads());
const diff: RunDiff = doc.diff(doc.heads());
const added: string[] = diff.graftsAdded.map((g) => g.agentName);
const whoRestored: string | undefined = diff.restored[0]?.by;
const undone: string = doc.undo(doc.history()[1].hash);
const fork: RunDoc = doc.fork({ at: doc.heads() });
const origin: ForkOf | null = fork.forkOf;
const merged: boolean = doc.mergeFrom(fork);
const retractedBy: string | undefined = doc.state().grafts[0]?.retracted?.by;
const conn = connect('ws://127.0.0.1:3030/ws', doc, { token: 't' });
conn.onStatus((s) => s === 'synced');
void [grafts, flag, pruned, then, added, whoRestored, undone, origin, merged, retractedBy, conn.unacknowledged];
