import type { DurableOrchestrationStatus } from 'durable-functions';
import { describe, expect, it } from 'vitest';
import { historyEntryOf } from '../../src/history/rotation-history.js';

const settings = { accountId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/orders' };

function completed(input: Record<string, unknown>, output: Record<string, unknown>): DurableOrchestrationStatus {
  return {
    name: 'rotateAccountKeys',
    instanceId: 'cosmos-rotation--x',
    runtimeStatus: 'Completed',
    createdTime: new Date('2026-05-01T08:00:00Z'),
    lastUpdatedTime: new Date('2026-05-02T08:00:00Z'),
    input: { settings, ...input },
    output: {
      rotationId: 'orders-20260501T080000Z',
      accountId: settings.accountId,
      outcome: 'rotated',
      force: false,
      reason: null,
      requestedBy: 'api',
      startedAt: '2026-05-01T08:00:00.000Z',
      finishedAt: '2026-05-02T08:00:00.000Z',
      pairs: [{ pair: 'readWrite', previousActiveKeyKind: 'primary', activeKeyKind: 'secondary', regenerated: ['primary'], secretVersion: null, consumersMoved: 'operator' }],
      activeKeyKind: 'secondary',
      phases: [],
      waits: [],
      retries: {},
      ...output,
    },
    customStatus: null,
    history: [],
  } as unknown as DurableOrchestrationStatus;
}

describe('a rotation as the history shows it', () => {
  it('when a run continued an earlier one from its published key, then its trigger is resumed, naming the rotation it resumed', () => {
    const status = completed({ consumersMoved: { by: 'alice' } }, {
      pairs: [{ pair: 'readWrite', previousActiveKeyKind: 'primary', activeKeyKind: 'secondary', regenerated: ['primary'], secretVersion: null, consumersMoved: 'operator', resumed: { rotationId: 'orders-20260430T080000Z', from: 'waitingForConsumers', publishedAt: '2026-04-30T09:00:00.000Z' } }],
    });

    expect(historyEntryOf(status).trigger).toEqual({ kind: 'resumed', requestedBy: 'api', reason: null, resumedFrom: ['orders-20260430T080000Z'] });
  });

  it('when the output records how each wait ended, then the history shows each ending and who confirmed, with their note', () => {
    const status = completed({}, {
      waitEndings: [
        { pair: 'readWrite', wait: 'standbyIdle', ended: 'idle', at: '2026-05-01T09:00:00.000Z' },
        { pair: 'readWrite', wait: 'consumers', ended: 'operator', at: '2026-05-01T20:00:00.000Z', by: 'alice', note: 'pods restarted' },
      ],
    });

    const entry = historyEntryOf(status);

    expect(entry.trigger.kind).toBe('operator');
    expect(entry.waitEndings.map((e) => `${e.wait}:${e.ended}`)).toEqual(['standbyIdle:idle', 'consumers:operator']);
    expect(entry.confirmedBy).toEqual([{ by: 'alice', at: '2026-05-01T20:00:00.000Z', note: 'pods restarted' }]);
  });

  it('when an older output has no wait endings, then the consumer wait ending comes from the pair outcome', () => {
    const entry = historyEntryOf(completed({ requestedBy: 'schedule' }, { requestedBy: 'schedule' }));

    expect(entry.trigger.kind).toBe('schedule');
    expect(entry.waitEndings).toEqual([{ pair: 'readWrite', wait: 'consumers', ended: 'operator', at: null, by: null, note: null }]);
  });
});
