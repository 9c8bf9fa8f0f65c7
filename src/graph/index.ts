export { executeGraph } from "./executor.js";
export { mergeLimits, Budget, type BudgetBreach } from "./limits.js";
export type { ExecuteOptions, ExecuteGraph } from "./types.js";
