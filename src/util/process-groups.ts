/**
 * Process groups a tool started, described well enough to stop them after
 * a crash without ever hitting a stranger: a pid can be reused, so each
 * group carries its leader's start time (/proc/<pid>/stat field 22) and is
 * only killed while that still matches (and the machine has not rebooted
 * since, per its boot id). Linux only (/proc); elsewhere a
 * group is not described and so never reaped.
 */
import { readdirSync, readFileSync } from "node:fs";

/** A tool's process group as recorded in its session while it runs. */
export interface ProcessGroupRecord {
  pid: number;
  pgid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot, as text. */
  start_time: string;
  /** The kernel's boot id: a start time means nothing after a reboot or on another machine. */
  boot_id: string;
}

let bootIdCache: string | undefined;

function bootId(): string | undefined {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch {
      return undefined;
    }
  }
  return bootIdCache || undefined;
}

interface ProcStat {
  pgrp: number;
  startTime: string;
}

/** Fields of /proc/<pid>/stat, or undefined when the process is gone (or no /proc). */
function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')':
  // fields 3 onwards follow the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const pgrp = Number(rest[5 - 3]);
  const startTime = rest[22 - 3];
  if (!Number.isInteger(pgrp) || !startTime) return undefined;
  return { pgrp, startTime };
}

/** Describes the group led by `pid` (a just-spawned, detached child), or undefined when /proc cannot tell. */
export function describeProcessGroup(pid: number): ProcessGroupRecord | undefined {
  const stat = readStat(pid);
  const boot = bootId();
  if (!stat || stat.pgrp !== pid || !boot) return undefined;
  return { pid, pgid: pid, start_time: stat.startTime, boot_id: boot };
}

/**
 * SIGKILLs what is left of a recorded group when it is still ours: its
 * leader alive with the recorded start time, or (leader gone) members of
 * the group started no earlier than the leader was. Returns whether it killed.
 */
export function reapProcessGroup(group: ProcessGroupRecord): boolean {
  if (!Number.isInteger(group.pgid) || group.pgid <= 1 || group.pgid !== group.pid || !/^\d+$/.test(String(group.start_time))) return false;
  if (group.boot_id !== bootId()) return false;
  const leader = readStat(group.pid);
  let ours: boolean;
  if (leader) {
    ours = leader.startTime === group.start_time && leader.pgrp === group.pgid;
  } else {
    // The kernel does not hand out a pid still in use as a group id, so members
    // of this group started after the recorded leader are the leader's.
    ours = groupMembers(group.pgid).some((stat) => BigInt(stat.startTime) >= BigInt(group.start_time));
  }
  if (!ours) return false;
  try {
    process.kill(-group.pgid, "SIGKILL");
    return true;
  } catch {
    return false; // ESRCH: gone meanwhile.
  }
}

function groupMembers(pgid: number): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return [];
  }
  const members: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat?.pgrp === pgid) members.push(stat);
  }
  return members;
}
