/**
 * Connections inside one process: frames are handed over in a microtask,
 * encoded and decoded exactly as over a socket, so the embedded mode and
 * the tests run the same protocol code as a cluster.
 */
import { Connection } from "./connection.js";
import { UnauthorizedError } from "./errors.js";
import type { ListenOptions, Listener, Transport } from "./transport.js";

interface Endpoint {
  token: string;
  accept: (conn: Connection) => void;
  log: (line: string) => void;
  conns: Set<Connection>;
}

export class InprocTransport implements Transport {
  readonly #endpoints = new Map<string, Endpoint>();
  #next = 0;

  async listen(options: ListenOptions, accept: (conn: Connection) => void): Promise<Listener> {
    const name = options.port === undefined || options.port === 0 ? `endpoint-${++this.#next}` : String(options.port);
    const address = `inproc://${name}`;
    if (this.#endpoints.has(address)) throw new Error(`${address} is already listening`);
    const ep: Endpoint = { token: options.token, accept, log: options.log ?? (() => {}), conns: new Set() };
    this.#endpoints.set(address, ep);
    return {
      address,
      close: async () => {
        this.#endpoints.delete(address);
        for (const c of ep.conns) c.close("listener closed");
      },
    };
  }

  async connect(address: string, token: string, log: (line: string) => void = () => {}): Promise<Connection> {
    await Promise.resolve();
    const ep = this.#endpoints.get(address);
    if (!ep) throw new Error(`nothing listens at ${address}`);
    if (ep.token !== "" && token !== ep.token) {
      ep.log(`(wray) refused an in-process connection to ${address}: wrong or missing cluster token`);
      throw new UnauthorizedError(address);
    }
    let client!: Connection;
    let server!: Connection;
    const pipe = (to: () => Connection) => ({
      send(frame: Uint8Array | readonly Uint8Array[], written: () => void) {
        const whole = frame instanceof Uint8Array ? frame : join(frame);
        queueMicrotask(() => {
          written();
          to().receive(whole);
        });
      },
      close(code: number, reason: string) {
        queueMicrotask(() => to().closed(`peer closed (${code}${reason ? ` ${reason}` : ""})`, code));
      },
    });
    client = new Connection(pipe(() => server), address, log);
    server = new Connection(pipe(() => client), "inproc peer", ep.log);
    ep.conns.add(server);
    server.onClose(() => ep.conns.delete(server));
    ep.accept(server);
    return client;
  }
}

function join(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
