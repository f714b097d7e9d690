// What the main thread allocates, by function: V8's sampling heap profiler with collected objects
// included (--heap-prof keeps only what is live at the end). Top 25 written to HEAP_OUT at exit.
// Usage: HEAP_OUT=/tmp/h.txt node --import ./scripts/benchmarks/heap-alloc.mjs dist/cli/main.js backup V DIR
// (add --no-turbo-inlining to charge inlined callees to themselves).
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { isMainThread } from "node:worker_threads";

if (isMainThread) {
  const session = new Session();
  session.connect();
  session.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  process.on("exit", () => {
    // A session on this thread answers synchronously, so this runs before the process ends.
    session.post("HeapProfiler.stopSampling", (error, result) => {
      if (error) throw error;
      const byFunction = new Map();
      let total = 0;
      const walk = (node) => {
        const frame = node.callFrame;
        const key = `${frame.functionName || "(anonymous)"} ${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}`;
        byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
        total += node.selfSize;
        node.children.forEach(walk);
      };
      walk(result.profile.head);
      const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25);
      writeFileSync(process.env.HEAP_OUT ?? "heap-alloc.txt", [`total ${(total / 1e6).toFixed(0)} MB`, ...top.map(([k, v]) => `${(v / 1e6).toFixed(1)} MB ${k}`)].join("\n") + "\n");
    });
  });
}
