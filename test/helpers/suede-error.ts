/** For damage tests: a SuedeError is an accepted outcome of a step; any other exception is a bug. */
import { SuedeError } from "../../src/index.ts";

/** Runs one step: a SuedeError is returned, anything else is rethrown naming the step. */
export async function orSuedeError<T>(what: string, work: () => Promise<T>): Promise<T | SuedeError> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SuedeError) return error;
    throw new Error(`${what} threw a non-SuedeError: ${error instanceof Error ? error.stack : String(error)}`);
  }
}
