/**
 * forager as a library: the headless runtime (SPEC section 8), the agent
 * loader, and the types and errors they use. Explicit named exports only.
 *
 * What is exported here is the promise; everything else (the runtime's
 * stores, bus, `submit` and `ingest`, the options that inject them) is
 * tagged internal in its doc comment and left out of dist/index.d.ts
 * (`stripInternal`). The concrete stores and the event bus are not
 * exported: a library user reaches stored executions through the runtime
 * (`storagePath`, `getExecution`, `listExecutions`, `subscribe`), and a
 * custom `execute` gets the store and state it writes to in its
 * ExecuteOptions, typed by the SessionStore and StateStore interfaces.
 * Every type a public signature names is exported here by name.
 * Importing this module loads no heavy package: zod, yaml, the CEL engine,
 * the JSON Schema validator, croner and pino load on first use.
 * Every error thrown on purpose is a ForagerError with a stable `code`.
 */
export { AgentRuntime, type AgentRuntimeOptions, type TriggerOptions } from "./runtime/agent-runtime.js";
export type { EntryPointSpec, EntryPointFileSpec } from "./runtime/entry-point-spec.js";
export type { ReloadSummary } from "./runtime/reload-plan.js";
export { TriggerRefusedError } from "./runtime/errors.js";
export {
  TriggerError,
  type IngestOutcome,
  type LifecycleState,
  type RerunOutcome,
  type RuntimeHandle,
  type RuntimeStats,
  type StopOptions,
  type StreamStats,
  type TimerStats,
  type TriggerOutcome,
  type TriggerRequest,
  type WaitOptions,
} from "./runtime/types.js";
export { loadAgent, agentFromObject, loadAgentSource, validateAgentFile, type LoadOptions, type ValidationOutcome } from "./config/index.js";
export type {
  Agent,
  AgentFile,
  EntryPointDef,
  OverlapPolicy,
  ResolvedEntryPoint,
  RuntimeConfig,
  TimerConfig,
  EventConfig,
  Limits,
  LlmConfig,
  NodeDef,
  ToolDef,
} from "./config/schema.js";
export { ForagerError, UsageError, DefinitionError, StateError, ConnectionError, InvalidOptionError, type DefinitionIssue } from "./errors.js";
export {
  EXECUTION_STATUSES,
  isTerminal,
  exitCodeForStatus,
  type ExecutionResult,
  type ExecutionRecord,
  type ExecutionStatus,
  type ExecutionError,
  type AttemptRecord,
  type Usage,
} from "./result.js";
export {
  EVENT_TYPES,
  type EventType,
  type ForagerEvent,
  type EventInit,
  type EventFilter,
  type EventHandler,
  type EventPublisher,
  type SubscribeOptions,
  type SubscriptionScope,
} from "./events/types.js";
export type { ExecuteGraph, ExecuteOptions } from "./graph/types.js";
export type { LlmProvider, LlmRequest, LlmResponse, ChatMessage, ToolCall, ToolSpec, TokenUsage } from "./llm/types.js";
export type { Tool, ToolResolver, ToolContext } from "./tools/types.js";
export { ToolError } from "./tools/types.js";
export type { SessionStore, StateStore, StateWriteOptions, ExecutionSummary, ListQuery, PruneOptions, PruneReport } from "./storage/types.js";
export { systemClock, FakeClock, type Clock, type ClockTimer } from "./util/clock.js";
export { createLogger, silentLogger, type Logger, type LoggerOptions, type LogFormat, type LogLevel } from "./logging/index.js";
