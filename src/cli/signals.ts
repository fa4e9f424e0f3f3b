/**
 * SIGINT/SIGTERM as a promise, for commands that stop cleanly on Ctrl-C or `kill` (close the client,
 * flush what was printed, exit 0) instead of dying mid-write. A second signal during a stuck shutdown
 * still kills at once; `dispose` restores Node's default handling once the command is done.
 */
export function onStopSignal(): {
  readonly stopped: Promise<NodeJS.Signals>;
  /** Aborted by the signal: for waits that run many times, where racing `stopped` would pile up reactions on it. */
  readonly abort: AbortSignal;
  readonly isStopped: () => boolean;
  dispose(): void;
} {
  let fire!: (s: NodeJS.Signals) => void;
  let fired = false;
  const controller = new AbortController();
  const stopped = new Promise<NodeJS.Signals>((resolve) => (fire = resolve));
  const handler = (signal: NodeJS.Signals): void => {
    if (fired) {
      // A second Ctrl-C means "now": the usual exit status of a signal death.
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    }
    fired = true;
    controller.abort();
    fire(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    stopped,
    abort: controller.signal,
    isStopped: () => fired,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
