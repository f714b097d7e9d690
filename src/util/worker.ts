/** Starts a worker module beside the caller: .ts under tsx (tests, dev), .js when built. */
import { type Transferable, Worker } from "node:worker_threads";
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
