import { readFileSync, readlinkSync, unlinkSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { readFileSafely } from "../fs/safe-read.js";

type Warn = (message: string) => void;

/**
 * A running stage's lease: a small file in its stage directory that the
 * stage renews while it runs. The local process table says nothing about a
 * process on another host (or in another container's pid namespace), so a
 * reader there judges the stage by its lease instead: a lease not renewed
 * for `timeout_s` seconds means the stage's host or process is gone.
 */
export const LEASE_FILE = ".stagetrace-lease.json";

/** Which process table a pid belongs to: the host name, the kernel's boot id and the pid namespace. */
export interface ProcessTable {
  host: string;
  /** `/proc/sys/kernel/random/boot_id` (Linux), else null: a new one means the machine restarted. */
  boot_id: string | null;
  /** The pid namespace (`/proc/self/ns/pid`, Linux), else null: containers on one host have their own. */
  pid_ns: string | null;
}

export interface Lease extends ProcessTable {
  pid: number;
  /** When the stage last renewed the lease (RFC 3339, by the stage host's clock). */
  renewed_at: string;
  /** How long the lease holds without renewal, in seconds. */
  timeout_s: number;
}

let local: ProcessTable | undefined;

/** This process's table. */
export function localProcessTable(): ProcessTable {
  if (local) return local;
  let boot: string | null = null;
  let ns: string | null = null;
  try {
    boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
  } catch {
    // not Linux
  }
  try {
    ns = readlinkSync("/proc/self/ns/pid");
  } catch {
    // not Linux
  }
  local = { host: hostname(), boot_id: boot, pid_ns: ns };
  return local;
}

/** Reads a stage directory's lease; null when there is none or it is not one. */
export function readLease(stageDir: string): Lease | null {
  try {
    // Never blocks on a FIFO someone put there, never reads without bound.
    const l = JSON.parse(readFileSafely(join(stageDir, LEASE_FILE), { maxBytes: 64 * 1024 })) as Lease;
    return typeof l.renewed_at === "string" && typeof l.timeout_s === "number" && typeof l.host === "string" ? l : null;
  } catch {
    return null;
  }
}

/**
 * True when `table` is this process's own: the same host, not restarted since,
 * and the same pid namespace. A field one side does not know is not held against it.
 */
export function sameProcessTable(table: Pick<ProcessTable, "host"> & Partial<ProcessTable>): boolean {
  const me = localProcessTable();
  if (table.host !== me.host) return false;
  if (table.boot_id && me.boot_id && table.boot_id !== me.boot_id) return false;
  if (table.pid_ns && me.pid_ns && table.pid_ns !== me.pid_ns) return false;
  return true;
}

/** True when the lease has not been renewed for longer than its timeout (by this host's clock). */
export function leaseExpired(lease: Lease, now = Date.now()): boolean {
  const renewed = Date.parse(lease.renewed_at);
  return Number.isNaN(renewed) || now - renewed > lease.timeout_s * 1000;
}

/**
 * Writes the stage's lease now and renews it every quarter of the timeout
 * (the timer does not keep the process alive). `stop()` removes the file.
 * Failing to write it never fails the stage: `warn` says so once.
 */
export function holdLease(stageDir: string, timeoutS: number, warn: Warn): { stop(): void } {
  const path = join(stageDir, LEASE_FILE);
  let warned = false;
  const renew = () => {
    const lease: Lease = { ...localProcessTable(), pid: process.pid, renewed_at: new Date().toISOString(), timeout_s: timeoutS };
    try {
      writeFileAtomic(path, JSON.stringify(lease) + "\n");
    } catch (err) {
      if (!warned) warn(`cannot renew the stage's lease ${path}: ${(err as Error).message}`);
      warned = true;
    }
  };
  renew();
  const timer = setInterval(renew, Math.max(250, (timeoutS * 1000) / 4));
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      try {
        // One unlink, not rmSync's look at what is there first: the lease is a file this process wrote.
        unlinkSync(path);
      } catch {
        // Gone already, or the stage directory cannot be reached (the stage has said so): nothing to remove.
      }
    },
  };
}
