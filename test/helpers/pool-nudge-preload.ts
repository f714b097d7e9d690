// Loaded by tools/run-tests.mjs into every test process: the guard the CLI runs (src/fs/pool-nudge.ts),
// so a lost pool wake-up cannot hang a test file (and with it the whole CI run) for ever.
import { startPoolNudge } from "../../src/fs/pool-nudge.ts";

startPoolNudge();
