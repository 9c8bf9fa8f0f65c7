/** Talking to a running `forager serve` from another process. */
export { discoverServer, storageDir, noServerError, START_HINT, type DiscoveryOptions, type ServerTarget } from "./discovery.js";
export { ControlClient, errorText, type ApiResponse, type TriggerParams } from "./control-client.js";
