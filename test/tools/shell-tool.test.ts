import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createToolResolver } from "../../src/tools/registry.js";
import { ToolError } from "../../src/tools/types.js";
import { isAlive, makeAgent, makeContext, withTempDir } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  assert.fail("expected the call to fail");
}

/** The pids a test program wrote, once the line is complete. */
async function readPids(file: string): Promise<number[]> {
  await waitFor("the file's last line", () => existsSync(file) && readFileSync(file, "utf8").endsWith("\n"));
  const text = await readFile(file, "utf8");
  return text.trim().split(/\s+/).map(Number);
}

describe("shell tool", () => {
  test("arguments reach the program literally; nothing is run by a shell", async () => {
    await withTempDir(async (dir) => {
      const pwned = join(dir, "pwned");
      const agent = makeAgent(
        {
          tools: {
            echo_args: {
              type: "shell",
              input_schema: { type: "object", properties: { a: { type: "string" }, b: { type: "string" } } },
              command: ["printf", "[%s]\\n", "{{ args.a }}", "{{ args.b }}", "x{{ args.b }}y"],
            },
          },
        },
        dir,
      );
      const resolver = createToolResolver(agent);
      const tool = await resolver.get("echo_args");
      const a = "; rm -rf /tmp/x";
      const b = `$(touch ${pwned})`;
      const result = (await tool.call({ a, b }, makeContext())) as { exit_code: number; stdout: string };
      assert.equal(result.exit_code, 0);
      assert.equal(result.stdout, `[${a}]\n[${b}]\n[x${b}y]\n`);
      assert.equal(existsSync(pwned), false);
      await resolver.close();
    });
  });

  test("runs in cwd relative to the agent folder, with the tool env on top", async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, "sub"));
      const agent = makeAgent(
        {
          tools: {
            where: { type: "shell", command: ["pwd"], cwd: "sub" },
            show_env: { type: "shell", command: ["printenv", "GREETING", "FROM_PARENT"], env: { GREETING: "hi {{ args.who }}" } },
          },
        },
        dir,
      );
      const resolver = createToolResolver(agent, { env: { ...process.env, FROM_PARENT: "parent" } });
      const where = (await (await resolver.get("where")).call({}, makeContext())) as { stdout: string };
      assert.equal(where.stdout.trim(), realpathSync(join(dir, "sub")));
      const env = (await (await resolver.get("show_env")).call({ who: "ana" }, makeContext())) as { stdout: string };
      assert.equal(env.stdout, "hi ana\nparent\n");
    });
  });

  test("a non-zero exit is a ToolError carrying stdout, stderr and the exit code", async () => {
    await withTempDir(async (dir) => {
      const agent = makeAgent({ tools: { fail: { type: "shell", command: ["sh", "-c", "echo out; echo oops >&2; exit 3"] } } }, dir);
      const tool = await createToolResolver(agent).get("fail");
      const err = await rejection(tool.call({}, makeContext()));
      assert.ok(err instanceof ToolError);
      assert.match(err.message, /exit code 3/);
      assert.match(err.message, /oops/);
      assert.deepEqual(err.result, { exit_code: 3, stdout: "out\n", stderr: "oops\n" });
    });
  });

  test("a missing program is 'command not found'", async () => {
    await withTempDir(async (dir) => {
      const agent = makeAgent({ tools: { ghost: { type: "shell", command: ["no-such-program-forager"] } } }, dir);
      const err = await rejection((await createToolResolver(agent).get("ghost")).call({}, makeContext()));
      assert.ok(err instanceof ToolError);
      assert.equal(err.message, "command not found: no-such-program-forager");
    });
  });

  test("a timeout kills the whole process group, grandchildren included", async () => {
    await withTempDir(async (dir) => {
      const pidFile = join(dir, "pids");
      const agent = makeAgent(
        {
          tools: {
            slow: {
              type: "shell",
              command: ["sh", "-c", `sleep 30 & echo $$ $! > ${pidFile}; sleep 30`],
              timeout_seconds: 0.5,
            },
          },
        },
        dir,
      );
      const err = await rejection((await createToolResolver(agent).get("slow")).call({}, makeContext()));
      assert.ok(err instanceof ToolError);
      assert.equal(err.message, 'tool "slow": timed out after 0.5s (process killed)');
      assert.equal((err.result as { signal?: string }).signal, "SIGTERM");
      const pids = await readPids(pidFile);
      assert.equal(pids.length, 2);
      await waitFor("the command's processes to exit", () => pids.every((pid) => !isAlive(pid)));
    });
  });

  test("aborting the call kills the process group and rejects with the abort reason", async () => {
    await withTempDir(async (dir) => {
      const pidFile = join(dir, "pids");
      const agent = makeAgent(
        { tools: { slow: { type: "shell", command: ["sh", "-c", `sleep 30 & echo $$ $! > ${pidFile}; sleep 30`] } } },
        dir,
      );
      const controller = new AbortController();
      const call = (await createToolResolver(agent).get("slow")).call({}, makeContext({ signal: controller.signal }));
      const pids = await readPids(pidFile);
      assert.ok(pids.every(isAlive));
      controller.abort(new Error("execution cancelled"));
      const err = await rejection(call);
      assert.equal(err.message, "execution cancelled");
      await waitFor("the command's processes to exit", () => pids.every((pid) => !isAlive(pid)));
    });
  });

  test("a program that ignores SIGTERM is SIGKILLed after the grace", async () => {
    await withTempDir(async (dir) => {
      const pidFile = join(dir, "pids");
      const agent = makeAgent(
        {
          tools: {
            stubborn: {
              type: "shell",
              command: ["sh", "-c", `trap "" TERM; sleep 30 & echo $$ $! > ${pidFile}; wait; sleep 30`],
              timeout_seconds: 0.3,
              kill_grace_seconds: 0.3,
            },
          },
        },
        dir,
      );
      const err = await rejection((await createToolResolver(agent).get("stubborn")).call({}, makeContext()));
      assert.ok(err instanceof ToolError);
      assert.match(err.message, /timed out after 0\.3s/);
      assert.equal((err.result as { signal?: string }).signal, "SIGKILL");
      const pids = await readPids(pidFile);
      await waitFor("the command's processes to exit", () => pids.every((pid) => !isAlive(pid)));
    });
  });

  test("background processes left behind are stopped when the program exits", async () => {
    await withTempDir(async (dir) => {
      const pidFile = join(dir, "pids");
      const agent = makeAgent({ tools: { leaky: { type: "shell", command: ["sh", "-c", `sleep 30 & echo $! > ${pidFile}; echo done`] } } }, dir);
      const result = (await (await createToolResolver(agent).get("leaky")).call({}, makeContext())) as { stdout: string };
      assert.equal(result.stdout, "done\n");
      const [pid] = await readPids(pidFile);
      await waitFor("the process to exit", () => !isAlive(pid!));
    });
  });

  test("output beyond max_output_bytes is cut and says so", async () => {
    await withTempDir(async (dir) => {
      const agent = makeAgent(
        {
          tools: {
            loud: {
              type: "shell",
              command: [process.execPath, "-e", "process.stdout.write('x'.repeat(200000)); process.stderr.write('e')"],
              max_output_bytes: 1000,
            },
          },
        },
        dir,
      );
      const result = (await (await createToolResolver(agent).get("loud")).call({}, makeContext())) as Record<string, unknown>;
      assert.equal(result.stdout, "x".repeat(1000) + "…[truncated 199000 bytes]");
      assert.equal(result.stderr, "e");
      assert.equal(result.truncated, true);
    });
  });
});
