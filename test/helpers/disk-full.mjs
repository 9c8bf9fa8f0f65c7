/**
 * A full disk, simulated at the file-system seam for tests (a tmpfs cannot
 * be mounted portably). Loaded with `node --import`, it wraps the writes of
 * node:fs/promises (module functions and FileHandle methods). While the file
 * named by FORAGER_TEST_DISK_FULL exists, a write (fs.writeSync on a handle's
 * descriptor too) to a path containing the
 * file's content (every path when it is empty) puts half of its bytes on disk
 * and then fails with ENOSPC, as a write that runs out of space does.
 *
 * Test code only: forager itself knows nothing of it.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";

const control = process.env.FORAGER_TEST_DISK_FULL;
if (control) install(() => {
  if (!existsSync(control)) return undefined;
  try {
    return readFileSync(control, "utf8").trim();
  } catch {
    return undefined;
  }
});

/** Wraps fs/promises; `fullFor()` says which paths are full now (undefined: none, "": all). */
export function install(fullFor) {
  const fsp = createRequire(import.meta.url)("node:fs/promises");
  const paths = new WeakMap();
  const isFull = (path) => {
    const which = fullFor();
    return which !== undefined && typeof path === "string" && path.includes(which);
  };
  const enospc = (path) => Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), { code: "ENOSPC", errno: -28, syscall: "write", path });
  const half = (data) => {
    const buf = typeof data === "string" ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return buf.subarray(0, Math.floor(buf.length / 2));
  };

  const open = fsp.open;
  fsp.open = async function (path, ...rest) {
    const handle = await open.call(this, path, ...rest);
    paths.set(handle, String(path));
    return handle;
  };
  let proto;
  const wrapHandleMethods = (handle) => {
    if (proto) return;
    proto = Object.getPrototypeOf(handle);
    for (const name of ["appendFile", "writeFile"]) {
      const original = proto[name];
      proto[name] = async function (data, ...rest) {
        const path = paths.get(this);
        if (!isFull(path)) return original.call(this, data, ...rest);
        await original.call(this, half(data));
        throw enospc(path);
      };
    }
    const write = proto.write;
    proto.write = async function (...args) {
      const path = paths.get(this);
      if (isFull(path)) throw enospc(path);
      return write.apply(this, args);
    };
  };
  // FileHandle's prototype is reachable only through a handle.
  const firstOpen = fsp.open;
  const fdPaths = new Map();
  fsp.open = async function (...args) {
    const handle = await firstOpen.apply(this, args);
    wrapHandleMethods(handle);
    fdPaths.set(handle.fd, String(args[0]));
    return handle;
  };
  // Appends written on the event loop go through fs.writeSync on a handle's descriptor.
  const fs = createRequire(import.meta.url)("node:fs");
  const writeSync = fs.writeSync;
  fs.writeSync = function (fd, data, ...rest) {
    const path = fdPaths.get(fd);
    if (!isFull(path) || typeof data === "string") return writeSync.call(this, fd, data, ...rest);
    const [offset = 0, length = data.byteLength - offset] = rest;
    writeSync.call(this, fd, data, offset, Math.floor(length / 2));
    throw enospc(path);
  };
  for (const name of ["appendFile", "writeFile"]) {
    const original = fsp[name];
    fsp[name] = async function (path, data, ...rest) {
      if (!isFull(String(path))) return original.call(this, path, data, ...rest);
      await original.call(this, path, half(data), ...rest);
      throw enospc(String(path));
    };
  }
  syncBuiltinESMExports();
}
