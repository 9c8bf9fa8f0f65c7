/**
 * The baseline server: plain node:http on 127.0.0.1, port 0. POST reads the
 * whole body and answers 202 with a small JSON; GET answers 200 with a
 * small JSON. Prints {"port": N, "pid": N} when listening; stops on SIGTERM.
 */
import { createServer } from "node:http";

let n = 0;
const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const status = req.method === "POST" ? 202 : 200;
    const payload = JSON.stringify(req.method === "POST" ? { status: "accepted", event_id: `evt_${++n}`, bytes: body.length } : { status: "ok", requests: ++n });
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
    res.end(payload);
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port, pid: process.pid }) + "\n");
});
process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections?.();
});
