/** Choosing the next node: a node's outgoing edges by priority (higher first), then file order. */
import type { EdgeDef, GraphDef } from "../config/schema.js";
import { errorMessage } from "../errors.js";
import { evaluateCondition } from "../expr/index.js";

/** A `when` that could not be evaluated: it ends the execution, naming the edge and the expression. */
export class EdgeConditionError extends Error {
  constructor(edge: EdgeDef, cause: unknown) {
    super(`edge ${edge.from} -> ${edge.to}: when ${errorMessage(cause)}`, { cause });
    this.name = "EdgeConditionError";
  }
}

export class EdgeTable {
  private readonly outgoing = new Map<string, EdgeDef[]>();

  constructor(graph: GraphDef) {
    for (const edge of graph.edges) {
      const list = this.outgoing.get(edge.from);
      if (list) list.push(edge);
      else this.outgoing.set(edge.from, [edge]);
    }
    // Array.prototype.sort is stable: equal priorities keep file order.
    for (const list of this.outgoing.values()) list.sort((a, b) => b.priority - a.priority);
  }

  /**
   * The first edge whose condition matches how the node ended and whose
   * `when` holds. The scope is built only when a `when` needs it.
   */
  choose(from: string, succeeded: boolean, scope: () => Record<string, unknown>): EdgeDef | undefined {
    const edges = this.outgoing.get(from);
    if (!edges) return undefined;
    let built: Record<string, unknown> | undefined;
    for (const edge of edges) {
      if (edge.condition === "on_success" && !succeeded) continue;
      if (edge.condition === "on_failure" && succeeded) continue;
      if (edge.when !== undefined) {
        built ??= scope();
        let holds: boolean;
        try {
          holds = evaluateCondition(edge.when, built);
        } catch (err) {
          throw new EdgeConditionError(edge, err);
        }
        if (!holds) continue;
      }
      return edge;
    }
    return undefined;
  }
}
