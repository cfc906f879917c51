import { describe, expect, it } from 'vitest';
import { breakdown, type CpuProfile } from '../bench/lib/profile.ts';

/** A profile of one stack per sample: each stack's frames outermost first, as `[functionName, url]`. */
function profileOf(stacks: Array<Array<[string, string]>>): CpuProfile {
  const nodes: CpuProfile['nodes'] = [{ id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: 0 }, children: [] }];
  const samples: number[] = [];
  for (const stack of stacks) {
    let parent = nodes[0]!;
    for (const [functionName, url] of stack) {
      const node = { id: nodes.length + 1, callFrame: { functionName, url, lineNumber: 0 }, children: [] as number[] };
      nodes.push(node);
      parent.children!.push(node.id);
      parent = node;
    }
    samples.push(parent.id);
  }
  return { nodes, samples };
}

describe('bench profile breakdown', () => {
  it("files a library or fs call under the step whose code called it, and Node's own machinery apart", () => {
    const changes = 'file:///repo/src/changes/change-feed.ts';
    const result = breakdown(
      profileOf([
        [
          ['sync', changes],
          ['readSync', 'node:fs'],
          ['read', ''],
        ],
        [
          ['sync', changes],
          ['get', ''],
        ],
        [['processTicksAndRejections', 'node:internal/process/task_queues']],
        [['(idle)', '']],
      ]),
    );
    expect(result.samples).toBe(3);
    expect(result.steps).toEqual([
      { step: 'change check', share: 2 / 3 },
      { step: 'Node internals (timers, ticks, events)', share: 1 / 3 },
    ]);
  });
});
