/**
 * The YAML parser, loaded on the first agent file read or object checked:
 * `import "forager"` does not pay for it (issue 15).
 */
import { onFirstUse } from "../util/lazy.js";

export const yaml = onFirstUse<typeof import("yaml")>("yaml", () => (typeof require === "function" ? require("yaml") : undefined));
