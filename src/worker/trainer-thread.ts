// The main thread's handle on one trainer thread: start it, send it work and stop requests, receive
// its messages. One thread per job, so a job's memory goes when it ends.
import { Worker } from 'node:worker_threads';
import { fromThreadSchema, type FromThread, type StopReason, type ToThread, toThreadSchema, type TrainRequest } from './protocol.ts';

// Worker threads do not inherit the tsx loader the service runs under: register it, then load thread.ts.
const BOOTSTRAP = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(new URL('./thread.ts', import.meta.url).href)}); });`;

export class TrainerThread {
  private readonly worker: Worker;
  /** Resolves when the thread has exited (normally or not). */
  readonly exited: Promise<number>;

  constructor(onMessage: (message: FromThread) => void, onError: (error: Error) => void) {
    this.worker = new Worker(BOOTSTRAP, { eval: true });
    this.worker.on('message', (raw: unknown) => {
      const parsed = fromThreadSchema.safeParse(raw);
      if (parsed.success) onMessage(parsed.data);
      else onError(new Error(`malformed message from trainer thread: ${parsed.error.message}`));
    });
    this.worker.on('error', onError);
    this.exited = new Promise((resolve) => this.worker.once('exit', resolve));
  }

  private send(message: ToThread): void {
    this.worker.postMessage(toThreadSchema.parse(message));
  }

  train(request: Omit<TrainRequest, 'type'>): void {
    this.send({ type: 'train', ...request });
  }

  probe(compute: TrainRequest['compute']): void {
    this.send({ type: 'probe', compute });
  }

  stop(reason: StopReason): void {
    this.send({ type: 'stop', reason });
  }

  checkpointStored(step: number, error?: string): void {
    this.send({ type: 'checkpoint-stored', step, error });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

/** Starts a thread only to learn which compute path trainer threads get on this machine. */
export function probeCompute(compute: TrainRequest['compute']): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const thread: TrainerThread = new TrainerThread(
      (message) => {
        if (message.type === 'compute') resolve(message.info);
        else if (message.type === 'failed') reject(new Error(message.message));
        if (message.type === 'compute' || message.type === 'failed') void thread.terminate();
      },
      reject,
    );
    thread.probe(compute);
  });
}
