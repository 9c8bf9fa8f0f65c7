/**
 * The `sessions list` baseline: the least any listing must do, one readdir
 * of an agent's sessions folder, names printed newest first.
 *   node list-baseline.mjs STORAGE AGENT
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

const [storage, agent] = process.argv.slice(2);
const names = readdirSync(join(storage, agent, "sessions")).sort().reverse();
process.stdout.write(names.join("\n") + "\n");
