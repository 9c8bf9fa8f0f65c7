/** Agent files: load, validate, merge, and describe (JSON Schema, Mermaid). */
export * from "./schema.js";
export {
  loadAgent,
  loadAgentSource,
  validateAgentFile,
  validateAgentSource,
  agentFromObject,
  issueAt,
  type LoadOptions,
  type ValidationOutcome,
} from "./load.js";
export { mergeRuntimeConfig, PROCESS_WIDE_KEYS } from "./merge.js";
export { resolveStoragePath } from "./storage-path.js";
export { agentJsonSchema, AGENT_SCHEMA_ID } from "./json-schema.js";
export { renderMermaid } from "./mermaid.js";
export { interpolateString } from "./interpolate.js";
export { MAX_AGENT_FILE_BYTES } from "./read.js";
export { formatPath } from "./positions.js";
export { cronProblem, isValidTimeZone } from "./semantic.js";
