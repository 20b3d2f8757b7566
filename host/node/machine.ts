/**
 * The machine a node runs on: how many cores this process may use.
 */
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";

let cores: number | undefined;

/**
 * The cores this process may use: the CPUs it may run on, capped by a
 * cgroup CPU quota (containers, CI runners), as Ray counts them. It is the
 * default `numCpus`, and bounds how many threads may spin (spin.ts).
 */
export function hostCores(): number {
  if (cores !== undefined) return cores;
  cores = availableParallelism();
  const quota = cgroupQuota();
  if (quota !== undefined) cores = Math.max(1, Math.min(cores, Math.ceil(quota)));
  return cores;
}

/** The cgroup CPU quota in cores (v2 `cpu.max`, else v1 `cfs_quota_us`), or undefined for none. */
function cgroupQuota(): number | undefined {
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8").trim();
    } catch {
      return undefined;
    }
  };
  const v2 = read("/sys/fs/cgroup/cpu.max")?.split(/\s+/);
  if (v2 && v2[0] !== "max" && Number(v2[0]) > 0 && Number(v2[1]) > 0) return Number(v2[0]) / Number(v2[1]);
  const q = Number(read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"));
  const p = Number(read("/sys/fs/cgroup/cpu/cpu.cfs_period_us"));
  return q > 0 && p > 0 ? q / p : undefined;
}
