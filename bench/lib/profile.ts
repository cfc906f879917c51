/**
 * Where a warm request's server time goes: a V8 CPU profile (`node --cpu-prof`) of a server
 * under load, its samples grouped into the steps a request goes through.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** The parts of a `.cpuprofile` file read here. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame; children?: number[] }>;
  samples: number[];
}

/**
 * The steps, each with the frames that are its own. A sample belongs to the step of the
 * innermost frame on its stack that matches one (rules in this order for one frame): the
 * library call inside a hook is the hook's cost (reply.header inside the security-headers
 * hook), and the socket write or the onSend hooks run inside `reply.send` are not the
 * handler's. Tessera's hooks are named functions (src/app.ts), so that a profile can tell them
 * apart.
 */
const STEPS: ReadonlyArray<{ step: string; match: (f: CallFrame) => boolean }> = [
  { step: 'garbage collection', match: (f) => f.functionName === '(garbage collector)' },
  {
    step: 'request log line (pino)',
    match: (f) => /\/node_modules\/(pino|sonic-boom|fast-redact|@pinojs)\/|\/src\/http\/logging\.ts/.test(f.url) || f.functionName === 'logRequest',
  },
  { step: 'metrics (onResponse)', match: (f) => /\/node_modules\/prom-client\/|\/src\/ops\//.test(f.url) },
  { step: 'change check', match: (f) => f.url.includes('/src/changes/') },
  { step: 'usage and activity counting', match: (f) => f.url.includes('/src/usage/') },
  {
    step: 'authentication and access control (onRequest)',
    match: (f) => /\/src\/(auth|access-keys|rate-limit)\/|\/src\/http\/access-control\.ts/.test(f.url),
  },
  { step: 'request id', match: (f) => f.functionName === 'requestId' || f.functionName === 'randomUUID' },
  { step: 'security headers (onSend)', match: (f) => f.functionName === 'securityHeaders' },
  { step: 'page cache lookup (route handler)', match: (f) => /\/src\/cloud-accounts\/|\/src\/db\/read-cache\.ts|\/src\/util\/bounded-cache\.ts/.test(f.url) },
  { step: 'Fastify routing (find-my-way)', match: (f) => f.url.includes('/node_modules/find-my-way/') },
  {
    step: 'response write (node:http, socket)',
    match: (f) =>
      /^node:(_http_outgoing|net|stream|internal\/streams|internal\/stream_base_commons)/.test(f.url) ||
      /^(writev|writeUtf8String|writeBuffer|writeLatin1String)$/.test(f.functionName),
  },
  { step: 'request parsing (node:http)', match: (f) => /^node:(_http_server|_http_common|_http_incoming)/.test(f.url) || f.functionName === 'execute' },
  { step: 'Fastify core (hooks runner, request and reply objects, send)', match: (f) => /\/node_modules\/(fastify|light-my-request|avvio|@fastify)\//.test(f.url) },
  { step: 'other Tessera code', match: (f) => f.url.includes('/src/') },
  // node:fs on a request's path is a step's own read (the change check's look at the WAL index):
  // it is filed under the frame that called it.
  { step: 'Node internals (timers, ticks, events)', match: (f) => f.url.startsWith('node:') && f.url !== 'node:fs' },
  { step: 'V8 and native (program)', match: (f) => f.functionName === '(program)' },
];

const OTHER = 'other';

export interface ProfileBreakdown {
  /** Busy samples (idle excluded). */
  samples: number;
  /** Each step's share of the busy time, largest first. */
  steps: Array<{ step: string; share: number }>;
  /** The functions with the most self time, for the record. */
  top: Array<{ name: string; where: string; share: number }>;
}

/** The profile's busy time by step (see STEPS), and the functions with the most self time. */
export function breakdown(profile: CpuProfile): ProfileBreakdown {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stepOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = stepOf.get(id);
    if (known !== undefined) return known;
    const frame = byId.get(id)!.callFrame;
    const own = STEPS.find((s) => s.match(frame))?.step;
    const up = parent.get(id);
    const step = own ?? (up === undefined ? OTHER : classify(up));
    stepOf.set(id, step);
    return step;
  };
  // Samples are taken at a fixed interval: each busy sample counts as one (a sample's time delta
  // can span a pause, as the first one after the profiler starts does).
  const steps = new Map<string, number>();
  const self = new Map<number, number>();
  let busy = 0;
  for (const id of profile.samples) {
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
    busy++;
    const step = classify(id);
    steps.set(step, (steps.get(step) ?? 0) + 1);
    self.set(id, (self.get(id) ?? 0) + 1);
  }
  const where = (f: CallFrame) => {
    const url = f.url.replace(/^file:\/\/.*?\/(node_modules|src)\//, '$1/');
    return url === '' ? '(native)' : `${url}:${f.lineNumber + 1}`;
  };
  const ranked = new Map<string, { name: string; where: string; samples: number }>();
  for (const [id, n] of self) {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName}@${where(f)}`;
    const entry = ranked.get(key) ?? { name: f.functionName || '(anonymous)', where: where(f), samples: 0 };
    entry.samples += n;
    ranked.set(key, entry);
  }
  return {
    samples: busy,
    steps: [...steps].map(([step, n]) => ({ step, share: n / busy })).sort((a, b) => b.share - a.share),
    top: [...ranked.values()]
      .sort((a, b) => b.samples - a.samples)
      .slice(0, 15)
      .map(({ name, where: at, samples }) => ({ name, where: at, share: samples / busy })),
  };
}
