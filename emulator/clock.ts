/**
 * A clock that tests and the sandbox can drive: it stands still unless told to move, so
 * "days pass in seconds". It satisfies the product's `Clock` port structurally, which lets
 * the sandbox hand one clock to both the engine and the emulators.
 */
export class VirtualClock {
  #nowMs: number;

  constructor(start: Date | string | number = Date.now()) {
    this.#nowMs = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.#nowMs);
  }

  set(to: Date | string | number): void {
    this.#nowMs = new Date(to).getTime();
  }

  advance(ms: number): Date {
    this.#nowMs += ms;
    return this.now();
  }
}

/** Real time, for the standalone emulator when no virtual clock is wanted. */
export const systemClock = { now: (): Date => new Date() };

export type EmulatorClock = { now(): Date };
