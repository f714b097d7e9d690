/** The only reader of the wall clock, so tests can inject a fake one (Kopia's clock rule). */
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };
