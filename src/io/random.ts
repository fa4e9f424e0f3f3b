import { randomUUID, randomInt } from 'node:crypto';

/** Randomness, injected so tests can make it deterministic. */
export interface Random {
  uuid(): string;
  /** Integer in [0, max). */
  int(max: number): number;
}

export const systemRandom: Random = {
  uuid: () => randomUUID(),
  int: (max) => randomInt(max),
};
