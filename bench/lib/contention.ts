// Whether other processes used the CPU while a timed region ran, measured as ../shared/bench/torch_glm_bench.py
// measures it (its Meter class), so that both sides of a comparison drop the same kind of step: the CPU time
// the whole machine spent (/proc/stat) minus this process's own (every thread of it, BLAS threads included).
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // Linux's USER_HZ on x86-64

/** CPU seconds every process on the machine has used; undefined where /proc/stat cannot be read. */
function machineBusySeconds(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    return (total - fields[3] - fields[4]) / TICKS_PER_SECOND; // minus idle and iowait
  } catch {
    return undefined;
  }
}

function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

export interface Measured {
  seconds: number;
  /** CPU seconds other processes used meanwhile. */
  otherCpuSeconds: number;
  /** Others used under 5% of one core on average (the torch script's test); true when unknown. */
  clean: boolean;
}

/** Starts a measurement; call the returned function when the region ends. */
export function startMeasure(): () => Measured {
  const wall = performance.now(), busy = machineBusySeconds(), own = ownCpuSeconds();
  return () => {
    const seconds = (performance.now() - wall) / 1000;
    const busyNow = machineBusySeconds();
    if (busy === undefined || busyNow === undefined) return { seconds, otherCpuSeconds: 0, clean: true };
    const otherCpuSeconds = Math.max(0, busyNow - busy - (ownCpuSeconds() - own));
    return { seconds, otherCpuSeconds, clean: otherCpuSeconds < 0.05 * seconds + 0.02 };
  };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The torch script's rule: the median of the clean measurements, or of all when none was clean. */
export function cleanMedian(runs: readonly Measured[]): number {
  const clean = runs.filter((r) => r.clean);
  return median((clean.length > 0 ? clean : runs).map((r) => r.seconds));
}
