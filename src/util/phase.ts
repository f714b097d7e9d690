/**
 * Named steps of a command (secret read, library loaded, opened, walked, committed, closed…): SUEDE_DEBUG=1
 * prints them as a timeline (cli/memory-report.ts). Publishing costs nothing when nobody subscribes.
 */
import { channel } from "node:diagnostics_channel";

/** cli/memory-report.ts subscribes to it (SUEDE_DEBUG=1). */
export const PHASE_CHANNEL = "suede:phase";
const phase = channel(PHASE_CHANNEL);

export function markPhase(name: string): void {
  if (phase.hasSubscribers) phase.publish(name);
}
