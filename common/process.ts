import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Whether process `pid` exists (one of another user's counts: EPERM). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * What tells process `pid` apart from a later process given the same PID:
 * its start time and command line (from /proc on Linux, `ps` elsewhere).
 * Undefined when no such process exists or it cannot be read.
 */
export function processIdentity(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (process.platform === "linux") {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // the fields after the command's closing parenthesis; starttime is field 22 of the whole line
      const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0+$/, "").replace(/\0/g, " ");
      return start === undefined ? undefined : `${start} ${cmd}`;
    } catch {
      return undefined;
    }
  }
  try {
    const out = execFileSync("ps", ["-o", "lstart=,command=", "-p", String(pid)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return out === "" ? undefined : out;
  } catch {
    return undefined;
  }
}
