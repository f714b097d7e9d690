/**
 * What a "wholes" message of small files costs the two threads: the worker's WholePacker.take() and
 * postMessage, the main thread's receipt and unpackWholes. Batches of 31 files of 32 B – 2 KiB (as a
 * worker sends them in a first backup of the manyfiles tree), records of their compressed size, one
 * batch in flight at a time. Two builds of whole-codec.ts interleaved A B A B in one process, CPU time
 * of each thread (/proc/thread-self/schedstat), medians per batch.
 * Run: node --import tsx scripts/benchmarks/wholes-post.ts A/src/backup/whole-codec.ts [B=this tree's] [batches=3000] [rounds=7]
 */
import { readFileSync } from "node:fs";
import { isMainThread, parentPort, Worker } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import { unpackWholes } from "../../src/backup/whole-codec.ts";

const FILES_PER_BATCH = 31;

function threadCpuNs(): number {
  return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]);
}

if (!isMainThread) {
  parentPort!.on("message", (message: { packed: Parameters<typeof unpackWholes>[0] } | "cpu") => {
    if (message === "cpu") {
      parentPort!.postMessage(threadCpuNs());
      return;
    }
    const files = unpackWholes(message.packed);
    parentPort!.postMessage(files.length);
  });
} else {
  type Packer = { room(n: number): { buffer: Uint8Array; offset: number }; addSealed(id: Uint8Array, size: number, record: number): void; addFile(fileId: number, chunkCount: number, sizeBytes: number, m: bigint, c: bigint): void; take(): { packed: unknown; transfer: ArrayBuffer[] } | null };
  const [aPath, bPath = new URL("../../src/backup/whole-codec.ts", import.meta.url).pathname, batchesArg = "3000", roundsArg = "7"] = process.argv.slice(2);
  const builds = { A: (await import(pathToFileURL(aPath!).href)).WholePacker, B: (await import(pathToFileURL(bPath).href)).WholePacker } as Record<"A" | "B", new () => Packer>;
    // Workers do not inherit module hooks: this one registers tsx itself (as util/worker.ts does).
  const worker = new Worker(`import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); });`, { eval: true });
  const reply = () => new Promise<number>((resolve) => worker.once("message", resolve));
  const id = new Uint8Array(32).fill(7);
  let fileId = 1;

  async function round(Packer: new () => Packer, batches: number): Promise<{ sender: number; receiver: number }> {
    const packer = new Packer();
    worker.postMessage("cpu");
    const receiverStart = await reply();
    const senderStart = threadCpuNs();
    for (let b = 0; b < batches; b++) {
      for (let f = 0; f < FILES_PER_BATCH; f++) {
        const size = 32 + ((fileId * 997) % 2016);
        const recordBytes = 60 + Math.round(size * 0.55); // what these files seal to
        const room = packer.room(recordBytes);
        room.buffer.fill(f, room.offset, room.offset + recordBytes);
        packer.addSealed(id, size, recordBytes);
        packer.addFile(fileId++, 1, size, 1_700_000_000_000_000_000n, 1_700_000_000_000_000_001n);
      }
      const taken = packer.take()!;
      worker.postMessage({ packed: taken.packed }, taken.transfer);
      await reply();
    }
    const sender = (threadCpuNs() - senderStart) / batches / 1e3;
    worker.postMessage("cpu");
    const receiver = ((await reply()) - receiverStart) / batches / 1e3;
    return { sender, receiver };
  }

  const batches = Number(batchesArg);
  await round(builds.A, 500);
  await round(builds.B, 500); // warm-up
  const results: Record<"A" | "B", { sender: number; receiver: number }[]> = { A: [], B: [] };
  for (let r = 0; r < Number(roundsArg); r++) for (const build of ["A", "B"] as const) results[build].push(await round(builds[build], batches));
  const median = (values: number[]) => values.sort((x, y) => x - y)[values.length >> 1]!;
  for (const build of ["A", "B"] as const) {
    const sender = median(results[build].map((r) => r.sender));
    const receiver = median(results[build].map((r) => r.receiver));
    console.log(`${build}: per batch of ${FILES_PER_BATCH} files, CPU µs: packing + take + post ${sender.toFixed(1)}, receive + unpack ${receiver.toFixed(1)} (rounds: ${results[build].map((r) => `${r.sender.toFixed(0)}/${r.receiver.toFixed(0)}`).join(" ")})`);
  }
  await worker.terminate();
}
