// Types for the runmesh package. These describe the objects `state()`, `history()` and
// the sync client really return (core/src/view/, core/src/doc/history.rs).

/** A flag's value: a JSON scalar. */
export type FlagValue = null | boolean | number | string;

/** A base step of the run. */
export interface Step {
  id: string;
  name: string;
  /** The agent that runs the step, if the step names one. */
  agent?: string;
}

/** A step as given to `RunDoc.create`: its id, or the id with a name and agent. */
export type StepSpec = string | { id: string; name?: string; agent?: string };

/** An agent inserted after a step or after another graft. */
export interface Graft {
  /** `g{lamport}-{actor}`, unique in the run. */
  id: string;
  /** The step or graft it was inserted after. */
  after: string;
  agentName: string;
  /** The user who grafted it. */
  by: string;
  /** The region the user wrote from. */
  region: string;
  /** One more than the largest lamport value the writer had seen. */
  lamport: number;
  /** Milliseconds since the Unix epoch, by the writer's clock. */
  at: number;
  /** Set when an undo took the graft out of the pipeline (it stays in this list). */
  retracted?: { by: string; region: string; at: number };
}

/** A step or graft marked as pruned. */
export interface PruneMark {
  id: string;
  by: string;
  region: string;
  lamport: number;
  at: number;
}

/** One entry of the ordered pipeline. */
export interface PipelineNode {
  id: string;
  /** `external`: a step id grafts name in a run that lists no steps. */
  kind: 'step' | 'external' | 'graft';
  /** The step's name or the grafted agent's name. */
  name: string;
  /** The step's agent, if any. */
  agent?: string;
  /** For a graft: the node it was inserted after. */
  after?: string;
  /** 0 for steps, 1 for grafts after a step, 2 for a graft after such a graft, … */
  depth: number;
  pruned: boolean;
}

/** The whole run, materialised: the same on every replica with the same changes. */
export interface RunState {
  runId: string;
  title: string;
  steps: Step[];
  /** Steps with their grafts in place; concurrent grafts after one node ordered by (lamport, region, user, id). */
  pipeline: PipelineNode[];
  /** Every graft, in (lamport, region, user, id) order. */
  grafts: Graft[];
  prunedSteps: PruneMark[];
  /** Each flag's winning value. */
  flags: Record<string, FlagValue>;
  /** Flags that were set concurrently: every value, the winner first. */
  flagConflicts: Record<string, FlagValue[]>;
  lamport: number;
  /** Data in the document that was skipped (written by another tool), and why. */
  issues: string[];
}

/** One change in a run's history. */
export interface HistoryEntry {
  /** The change hash (hex). */
  hash: string;
  by: string;
  region: string;
  /** Seconds since the Unix epoch, by the writer's clock. */
  at: number;
  op:
    | 'create'
    | 'graft'
    | 'prune'
    | 'restore'
    | 'setFlag'
    | 'clearFlag'
    | 'retract'
    | 'reinstate'
    | 'fork'
    | 'merge'
    | 'change';
  /** The node or flag it touched. */
  node?: string;
  detail: string;
  /** For an undo: the change it undoes. */
  undoes?: string;
}

/** Where a fork came from (`RunDoc.forkOf`). */
export interface ForkOf {
  /** The run it was forked from. */
  run: string;
  /** That run's heads it started from. */
  at: string[];
}

/** Who made a change, where, and when (seconds since the Unix epoch). */
export interface Who {
  by: string;
  region: string;
  at: number;
}

/** What changed between two points of a run (`RunDoc.diff`). */
export interface RunDiff {
  from: string[];
  to: string[];
  /** Grafts at `to` that were not at `from` (each says who, region and when). */
  graftsAdded: Graft[];
  /** Grafts at `from` that are not at `to` (only when `to` does not include `from`). */
  graftsRemoved: Graft[];
  /** Grafts in the pipeline at `from` that an undo took out by `to`. */
  retracted: Graft[];
  /** Grafts retracted at `from` and back in the pipeline at `to`. */
  reinstated: Graft[];
  pruned: PruneMark[];
  /** Nodes whose prune mark is gone, and who restored them if a change between did. */
  restored: Array<{ id: string } & Partial<Who>>;
  flags: Array<{ key: string; before?: FlagValue; after?: FlagValue } & Partial<Who>>;
  /** The changes `to` has and `from` does not, in history order. */
  changes: HistoryEntry[];
}

export interface ReplicaOptions {
  /** The region this replica writes from (default `local`). */
  region?: string;
  /** The user this replica writes as (default `anonymous`). */
  user?: string;
}

export interface CreateOptions extends ReplicaOptions {
  title?: string;
  steps?: StepSpec[];
  /** A UUID; a random one when left out. */
  runId?: string;
}

export interface LoadOptions extends ReplicaOptions {
  /** Needed only when the bytes do not name their run (runs not made by `create`). */
  runId?: string;
}

export interface ChangeEvent {
  /** True for this replica's own edits, false for changes merged or received. */
  local: boolean;
}

/** One replica of a run. Every method that edits commits one Automerge change. */
export declare class RunDoc {
  private constructor();
  static create(options?: CreateOptions): RunDoc;
  /**
   * Opens a full save, incremental chunks, or both concatenated. Throws on corrupt bytes,
   * and on bytes that name another run than `options.runId`.
   */
  static load(bytes: Uint8Array | ArrayBuffer, options?: LoadOptions): RunDoc;
  /** A replica that holds nothing yet, to be filled by `merge`, `applyChanges` or `connect`. */
  static empty(runId: string, options?: ReplicaOptions): RunDoc;
  readonly runId: string;
  /** The automerge-repo document id (bs58check of the run UUID). */
  readonly documentId: string;
  readonly lamport: number;
  readonly graftCount: number;
  /** Grafts `agentName` after a step or graft; returns the new graft's id. */
  graft(after: string, agentName: string): string;
  /** Marks a step or graft pruned; false if it already was. */
  prune(node: string): boolean;
  /** Removes the prune marks this replica has seen; false if there were none. */
  restore(node: string): boolean;
  setFlag(key: string, value: FlagValue): void;
  /** false if the flag was not set. */
  clearFlag(key: string): boolean;
  state(): RunState;
  /** Every change, oldest first, in the same order on every replica: each after the changes
   *  it depends on, concurrent ones by timestamp, then hash. */
  history(): HistoryEntry[];
  /** The run as it was at `heads` (from `heads()` or `history()`); throws naming a hash
   *  this replica does not have. */
  stateAt(heads: string[]): RunState;
  /** What changed from `from` to `to` (default: now), with who did it. */
  diff(from: string[], to?: string[]): RunDiff;
  /** Reverses one earlier change (a hash from `history()`) with a new change, whoever made
   *  it; returns the new change's hash. Throws if a later change superseded it. */
  undo(change: string): string;
  /** A new run (random id unless given) sharing this run's history up to `at` (default:
   *  now); it can merge back with `mergeFrom`. */
  fork(options?: { runId?: string; at?: string[] }): RunDoc;
  /** Where this run was forked from, or null. */
  readonly forkOf: ForkOf | null;
  /** Takes every change of a fork of this run (or of the run this one was forked from);
   *  throws if the two share no history. */
  mergeFrom(other: RunDoc): boolean;
  save(): Uint8Array;
  /** The changes since the last `save` or `saveIncremental`. */
  saveIncremental(): Uint8Array;
  /** Adds changes from bytes; true if the run changed. */
  applyChanges(bytes: Uint8Array | ArrayBuffer): boolean;
  /** Takes every change `other` has; true if the run changed. */
  merge(other: RunDoc): boolean;
  heads(): string[];
  onChange(listener: (event: ChangeEvent) => void): () => void;
  free(): void;
}

export type ConnectionStatus = 'connecting' | 'syncing' | 'synced' | 'offline' | 'unavailable' | 'closed';

export interface ConnectOptions extends ReplicaOptions {
  /** A JWT, sent as the `token` query parameter. */
  token?: string;
  /** A WebSocket constructor; defaults to `globalThis.WebSocket` (pass `ws` on Node 20). */
  WebSocket?: unknown;
  /** Reconnect backoff bounds (defaults 250 ms and 10 s, with jitter). */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** Keeps a RunDoc in sync with a relay over WebSocket, reconnecting with backoff. */
export declare class Connection {
  private constructor();
  readonly doc: RunDoc;
  readonly status: ConnectionStatus;
  readonly peerId: string;
  /** Changes the relay has not acknowledged yet. */
  readonly unacknowledged: number;
  onStatus(listener: (status: ConnectionStatus) => void): () => void;
  /** Ephemeral data from other peers on this run. */
  onPresence(listener: (peerId: string, value: unknown) => void): () => void;
  /**
   * Sends any JSON value to the run's other peers, not stored; false while not connected.
   * Throws if it is over the relay's limit (64 KiB as CBOR). A relay drops presence past
   * 256 KiB a second from one connection.
   */
  sendPresence(value: unknown): boolean;
  /** Resolves when the relay and this replica hold the same changes; rejects if the run is unavailable. */
  synced(options?: { timeoutMs?: number }): Promise<void>;
  /** Resolves when the store of `open()` holds every change this replica has. */
  stored(options?: { timeoutMs?: number }): Promise<void>;
  /** Why the last save to the store failed, while nothing has been saved since (saves are retried). */
  readonly storeError: Error | null;
  close(): void;
}

/** What a local store keeps of a run: the saved run and the heads the relay last acknowledged. */
export interface StoredRun {
  bytes: Uint8Array;
  acknowledged: string[];
}

/** A local store for `open()`: IndexedDB, a directory, anything durable. */
export interface RunStore {
  /** The run as last saved, or null if the store does not have it. */
  load(runId: string): Promise<StoredRun | null>;
  /** Saves the run; resolves only once it is durable. Called one at a time. */
  save(runId: string, run: StoredRun): Promise<void>;
}

export interface OpenOptions extends ConnectOptions {
  store: RunStore;
}

/**
 * Syncs a run with a relay (`ws://host:port/ws`). Given a run id, starts from an empty
 * replica and fetches the run; given a RunDoc, syncs that one.
 */
export declare function connect(url: string, run: string | RunDoc, options?: ConnectOptions): Connection;

/**
 * Opens run `runId` kept in `options.store`, then syncs it like `connect`. Every change,
 * made here or received, is saved to the store before anything goes to the relay: a
 * process that dies and opens the run again on the same store loses nothing it made.
 */
export declare function open(url: string, runId: string, options: OpenOptions): Promise<Connection>;

/** Node only: a store keeping each run in a file of `dir` (written atomically). */
export declare function directoryStore(dir: string): RunStore;

/** Browsers and bundlers: instantiates the wasm module; await it once first. Node: a no-op. */
export declare function init(moduleOrPath?: unknown): Promise<void>;
