/**
 * One broker in a child process (`broker-process.ts`) for one measurement: a fresh temporary data dir
 * for the disk engine (in os.tmpdir(), where the fsync limit is measured too), CPU samples of the child
 * for a window, optional `node --cpu-prof`, and clean-up. A child that does not exit 0 is a failure.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonChild } from './child.js';
import { summarizeProfile, type ProfileSummary } from './cpu-profile.js';
import { BenchFailure } from './produce-load.js';

export type Engine = 'memory' | 'disk';
export const ENGINES: readonly Engine[] = ['memory', 'disk'];

/** Functions listed per profile in a report. */
const PROFILE_TOP_FUNCTIONS = 15;

type Cpu = { cpu: { user: number; system: number } };

export class BrokerChild {
  private constructor(
    private readonly child: JsonChild,
    readonly port: number,
    readonly engine: Engine,
    private readonly dataDir: string | undefined,
    private readonly profileDir: string | undefined,
  ) {}

  static async start(engine: Engine, profile = false): Promise<BrokerChild> {
    const dataDir = engine === 'disk' ? await mkdtemp(join(tmpdir(), 'fjord-bench-')) : undefined;
    const profileDir = profile ? await mkdtemp(join(tmpdir(), 'fjord-bench-prof-')) : undefined;
    const args = ['--storage', engine, ...(dataDir !== undefined ? ['--data-dir', dataDir] : [])];
    const nodeArgs = profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const child = new JsonChild('./broker-process.js', args, nodeArgs);
    try {
      const { port } = await child.next<{ port: number }>();
      return new BrokerChild(child, port, engine, dataDir, profileDir);
    } catch (err) {
      await child.stop();
      await removeDirs([dataDir, profileDir]);
      throw err;
    }
  }

  /** The child's CPU time so far, in seconds (user + system). */
  async cpuSeconds(): Promise<number> {
    const { cpu } = await this.child.request<Cpu>('cpu');
    return (cpu.user + cpu.system) / 1e6;
  }

  /**
   * Close the broker and remove its data. Returns the CPU profile summary when started with profile.
   * Throws when the child did not exit 0 (it crashed, or its close failed).
   */
  async stop(): Promise<ProfileSummary | undefined> {
    try {
      const code = await this.child.stop();
      if (code !== 0) throw new BenchFailure(`${this.engine} broker child exited with code ${String(code)}`);
      if (this.profileDir === undefined) return undefined;
      const file = (await readdir(this.profileDir)).find((f) => f.endsWith('.cpuprofile'));
      if (file === undefined) throw new BenchFailure('the broker child wrote no .cpuprofile');
      return await summarizeProfile(join(this.profileDir, file), PROFILE_TOP_FUNCTIONS);
    } finally {
      await removeDirs([this.dataDir, this.profileDir]);
    }
  }
}

async function removeDirs(dirs: ReadonlyArray<string | undefined>): Promise<void> {
  for (const d of dirs) if (d !== undefined) await rm(d, { recursive: true, force: true });
}

/**
 * Samples a broker child's CPU at a window's edges (the hooks of the load loops) and turns the two
 * samples into cores used. The samples are requested at the edges and awaited afterwards.
 */
export class BrokerCpu {
  private start: Promise<number> | undefined;
  private end: Promise<number> | undefined;

  constructor(private readonly broker: BrokerChild) {}

  readonly onWindowStart = (): void => {
    this.start = this.broker.cpuSeconds();
  };

  readonly onWindowEnd = (): void => {
    this.end = this.broker.cpuSeconds();
  };

  /** Cores used between the edges, over a window of `seconds`; NaN when an edge was not sampled. */
  async cores(seconds: number): Promise<number> {
    if (this.start === undefined || this.end === undefined) return Number.NaN;
    const [a, b] = await Promise.all([this.start, this.end]);
    return (b - a) / seconds;
  }
}

/** Start a broker, run `fn` against it, stop it (always), and return fn's result and the profile. */
export async function withBroker<T>(engine: Engine, profile: boolean, fn: (broker: BrokerChild) => Promise<T>): Promise<{ result: T; profile: ProfileSummary | undefined }> {
  const broker = await BrokerChild.start(engine, profile);
  let result: T;
  try {
    result = await fn(broker);
  } catch (err) {
    // The load's error comes first; a broker that also failed to stop (e.g. it crashed) is named too.
    const stopError = await broker.stop().then(() => undefined, (e: unknown) => e);
    if (stopError !== undefined && err instanceof Error) err.message += ` (and: ${stopError instanceof Error ? stopError.message : String(stopError)})`;
    throw err;
  }
  return { result, profile: await broker.stop() };
}
