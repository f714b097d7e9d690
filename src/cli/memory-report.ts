/**
 * SUEDE_DEBUG=1: where a command's memory went. Samples the main thread's heap, external and
 * array-buffer bytes every 100 ms and prints their peaks with the process's peak RSS (which
 * includes the worker threads' heaps) to stderr when the command ends.
 */
export function startMemoryReport(): () => void {
  const peak = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    peak.heapUsed = Math.max(peak.heapUsed, usage.heapUsed);
    peak.heapTotal = Math.max(peak.heapTotal, usage.heapTotal);
    peak.external = Math.max(peak.external, usage.external);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, usage.arrayBuffers);
  };
  const timer = setInterval(sample, 100);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
    process.stderr.write(
      `suede: debug: peak RSS ${mib(process.resourceUsage().maxRSS * 1024)}; main thread peaks: heap used ${mib(peak.heapUsed)} ` +
        `(of ${mib(peak.heapTotal)}), external ${mib(peak.external)} (array buffers ${mib(peak.arrayBuffers)})\n`,
    );
  };
}
