/** Starts a worker module beside the caller: .ts under tsx (tests, dev), .js when built. */
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Transferable, Worker } from "node:worker_threads";
import { assert } from "./assert.ts";
import { WORKER_YOUNG_GENERATION_MB } from "./limits.ts";

/** Workers pass buffers, not object graphs: a small young generation keeps each isolate lean (issue 5). */
const resourceLimits = { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB };

export function startWorker(name: string, callerUrl: string, workerData: unknown, transferList: Transferable[] = []): Worker {
  const fromSource = callerUrl.endsWith(".ts");
  const url = new URL(`./${name}${fromSource ? ".ts" : ".js"}`, callerUrl);
  if (!fromSource) return new Worker(url, { workerData, resourceLimits, transferList });
  // Workers do not inherit module hooks, so a worker started from source registers tsx itself.
  const bootstrap = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits, transferList });
}

/**
 * What a worker started ahead (StartedWorker) gets instead of its data: it loads its modules, then
 * waits on `state` for its data on `port` (state 1), or for being stopped (state 2).
 */
export interface DeferredWorkerData {
  readonly deferred: { readonly state: Int32Array; readonly port: MessagePort };
}

/**
 * A worker started before the vault's keys exist (during the unlock, issue 5): its isolate, its
 * modules and their warm-up run while Argon2id does (sharing the cores with the KDF's lanes, a cost
 * repaid by a worker ready the moment the keys are); then it blocks until begin hands it its data
 * (keys included) or stop ends it. Unref'd until then, so one whose keys never come (the unlock
 * failed, nothing used it) cannot keep the process alive.
 */
export class StartedWorker<Data> {
  private readonly worker: Worker;
  /** 0 waiting, 1 data posted on the port, 2 stopped (awaitWorkerData waits on it). */
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  private readonly port: MessagePort;
  private taken = false;

  constructor(name: string, callerUrl: string) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = startWorker(name, callerUrl, { deferred: { state: this.state, port: port2 } } satisfies DeferredWorkerData, [port2]);
    this.worker.unref();
  }

  /** The worker, given its data: from here on it is the caller's (still unref'd: ref it if it must keep the process alive). */
  begin(data: Data): Worker {
    assert(!this.taken, "a worker started ahead is used once");
    this.taken = true;
    this.port.postMessage(data); // queued on the worker's side at once: it reads it synchronously
    this.signal(1);
    return this.worker;
  }

  /** Ends the worker unless begin gave it away: it ends without ever having had keys. */
  async stop(): Promise<void> {
    if (this.taken) return;
    this.taken = true;
    this.signal(2);
    await this.worker.terminate();
  }

  private signal(state: 1 | 2): void {
    Atomics.store(this.state, 0, state);
    Atomics.notify(this.state, 0);
    this.port.close();
  }
}

/** In a worker: its data, waited for if it was started ahead (StartedWorker); a stopped one exits. */
export function awaitWorkerData<Data>(raw: Data | DeferredWorkerData): Data {
  if (typeof raw !== "object" || raw === null || !("deferred" in raw)) return raw;
  const { state, port } = raw.deferred;
  Atomics.wait(state, 0, 0); // nothing else to do until the vault is unlocked
  const received = receiveMessageOnPort(port);
  port.close();
  if (received === undefined) process.exit(0); // stopped unused
  return received.message as Data;
}
