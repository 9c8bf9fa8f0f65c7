// Function node for guardian.yaml: turns an `execution_failed` event into
// a one-line description that the alert carries.

export default async function describe({ event }) {
  const error = event?.data?.error ?? {};
  const agent = event?.graph_id ?? "unknown agent";
  const where = error.node_id ? ` in node ${error.node_id}` : "";
  return {
    failed_agent: agent,
    summary: `${agent} execution ${event?.execution_id ?? "?"} failed${where}: ${error.message ?? event?.data?.status ?? "no reason given"}`,
  };
}
