/**
 * The function pool's short wait. A round trip to a worker through both
 * event loops costs far more than a trivial function; when the main thread
 * has nothing else in flight it can instead block on the memory it shares
 * with the worker (`Atomics.wait`) and take the answer straight off the
 * channel (`receiveMessageOnPort`). Only for a bounded time: past it, the
 * call goes on asynchronously, so timers, cancel and HTTP are held up by at
 * most that bound.
 */
import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { FLAG_SENT, type FromWorker } from "./function-protocol.js";

/**
 * How long each function (url#export) took in its worker on its last call.
 * Only one that took under half the bound is waited for: the rest of the
 * bound is for the two thread wake-ups. The worker's own time, not the
 * round trip's: on a loaded machine a round trip through the event loop
 * often takes longer than the bound, and would wrongly mark a trivial
 * function slow.
 */
export class AnswerTimes {
  private readonly took = new Map<string, number>();

  constructor(private readonly boundMs: number) {}

  record(key: string, ms: number): void {
    // A daemon that loads many modules over its life keeps a bounded map.
    if (this.took.size >= 1000 && !this.took.has(key)) this.took.clear();
    this.took.set(key, ms);
  }

  /** False for a first call (which imports its module) and for a function that was slow last time. */
  quick(key: string): boolean {
    const took = this.took.get(key);
    return took !== undefined && took < this.boundMs / 2;
  }
}

export interface ShortWait {
  port: MessagePort;
  /** The Int32Array shared with the worker. */
  flags: Int32Array;
  /** `flags[FLAG_SENT]` read before the call was posted. */
  sentBefore: number;
  /** performance.now() after which the wait gives up. */
  deadline: number;
  /** Handles one message from the worker (a log line, the answer). */
  deliver(message: FromWorker): void;
  /** Whether the answer has been delivered. */
  answered(): boolean;
}

/**
 * Blocks until the answer comes or the deadline passes, delivering the
 * worker's messages in order as they come. True when answered; otherwise
 * the messages still to come arrive through the port's "message" event.
 */
export function waitForAnswer(wait: ShortWait): boolean {
  let seen = wait.sentBefore;
  for (;;) {
    // The worker bumps the counter after each post: read it first, so a post between the drain and the wait is not slept through.
    const sent = Atomics.load(wait.flags, FLAG_SENT);
    if (sent !== seen) {
      seen = sent;
      for (let next = receiveMessageOnPort(wait.port); next; next = wait.answered() ? undefined : receiveMessageOnPort(wait.port)) {
        wait.deliver(next.message as FromWorker);
      }
      if (wait.answered()) return true;
    }
    const left = wait.deadline - performance.now();
    if (left <= 0) return false;
    Atomics.wait(wait.flags, FLAG_SENT, seen, left);
  }
}
