/**
 * Every ARM request the emulator answered, with the virtual instant it saw it,
 * read from the emulator's log (one line per answer: "arm GET /subscriptions/... -> 200"),
 * and the peaks per subscription in one virtual second and one virtual minute.
 * Reads are GET and HEAD; everything else counts as a write, as ARM counts POST actions.
 */
export type ArmRequestType = 'reads' | 'writes';

export interface LoggedArmRequest {
  atMs: number;
  method: string;
  subscriptionId: string;
  path: string;
  status: number;
  type: ArmRequestType;
}

const ARM_ANSWER = /^arm ([A-Z]+) (\/subscriptions\/([^/]+)\S*) -> (\d{3})$/;

export class ArmRequestLog {
  readonly requests: LoggedArmRequest[] = [];

  constructor(private readonly nowMs: () => number) {}

  /** Pass as the emulator's `log`. */
  readonly log = (line: string): void => {
    const match = ARM_ANSWER.exec(line);
    if (!match) return;
    const method = match[1]!;
    this.requests.push({
      atMs: this.nowMs(),
      method,
      path: match[2]!,
      subscriptionId: match[3]!.toLowerCase(),
      status: Number(match[4]),
      type: method === 'GET' || method === 'HEAD' ? 'reads' : 'writes',
    });
  };

  /** The most requests of a type one subscription got in one virtual second (or `windowMs`), counted from each second's start. */
  peak(type: ArmRequestType, options: { subscriptionId?: string; windowMs?: number } = {}): number {
    const windowMs = options.windowMs ?? 1_000;
    const counts = new Map<string, number>();
    for (const request of this.requests) {
      if (request.type !== type || (options.subscriptionId && request.subscriptionId !== options.subscriptionId.toLowerCase())) continue;
      const key = `${request.subscriptionId}|${Math.floor(request.atMs / windowMs)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return Math.max(0, ...counts.values());
  }

  count(filter: (request: LoggedArmRequest) => boolean = () => true): number {
    return this.requests.filter(filter).length;
  }
}
