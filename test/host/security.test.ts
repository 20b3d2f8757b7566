/**
 * An authenticated but hostile client against a real cluster in this
 * process (head, host and driver over wss:// on loopback, with a
 * certificate the test makes): what it tries is refused, and the cluster
 * keeps serving valid work. See docs/security.md.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Driver } from "wray";
import { ComponentIntegrityError, PermissionDeniedError, init } from "wray";
import { ClusterNode, ConnectionFailedError, Head, HostNode, WsTransport } from "wray/host";
// the dist's transport: its connections decode errors into the package's classes
import type { TlsOptions } from "../../net/index.js";
import { MSG } from "../../net/index.js";
import { TABLES } from "../../store/index.js";
import { readToken, readTlsFiles } from "../../host/head/index.js";
import { guest } from "../helpers.js";
import { selfSigned } from "../tls.js";
import { tempDir } from "../temp.js";

const TOKEN = "security-token-0123456789";
let dir: Awaited<ReturnType<typeof tempDir>>;
let head: Head;
let host: { node: HostNode; cluster: ClusterNode };
let ray: Driver;
let tls: TlsOptions;
let attacker: Awaited<ReturnType<WsTransport["connect"]>>;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

before(async () => {
  dir = await tempDir();
  const files = selfSigned(dir.path);
  tls = readTlsFiles({ ...files, ca: files.cert })!;
  head = await Head.start({ token: TOKEN, directory: join(dir.path, "gcs"), port: 0, heartbeatMs: 10_000, tls, log: () => {} });
  const node = new HostNode({ numCpus: 2, log: () => {} });
  node.start();
  host = { node, cluster: await ClusterNode.join(node, { address: head.address, token: TOKEN, tls, log: () => {} }) };
  ray = await init({ address: head.address, token: TOKEN, tls, log: () => {} });
  attacker = await new WsTransport({ tls: { ca: tls.ca! } }).connect(head.address, TOKEN);
});

after(async () => {
  attacker?.close();
  await ray?.shutdown();
  await host?.cluster.close();
  await host?.node.close();
  await head?.close();
  await dir?.remove();
});

test("the whole cluster runs over wss://; a client that does not trust its certificate cannot connect", async () => {
  assert.match(head.address, /^wss:\/\/127\.0\.0\.1:\d+$/);
  assert.match(host.cluster.address, /^wss:\/\//, "the host serves its peers over TLS too");
  const mod = await ray.load(guest("basic"));
  assert.equal(await ray.get(mod.fn("add").remote(1, 2)), 3);
  await assert.rejects(new WsTransport().connect(head.address, TOKEN), ConnectionFailedError);
});

test("an authenticated client cannot write the control store's tables with raw puts or deletes", async () => {
  for (const table of Object.values(TABLES)) {
    await assert.rejects(attacker.request(MSG.GCS_PUT, { table, key: "k", value: 1 }), (e: unknown) => e instanceof PermissionDeniedError && e.message.includes(`'${table}' table is written by the head`));
    await assert.rejects(attacker.request(MSG.GCS_DELETE, { table, key: "k" }), PermissionDeniedError);
  }
  // reads are what the driver API needs, and are served
  assert.ok(Array.isArray(await attacker.request(MSG.GCS_SCAN, { table: TABLES.nodes, prefix: "" })));
});

test("code substitution: the functions table takes only bytes that hash to their name, once; add(1, 2) stays 3", async () => {
  const genuine = readFileSync(guest("basic"));
  const other = readFileSync(guest("oom"));
  const hash = sha256(genuine);
  const mod = await ray.load(guest("basic")); // published under its hash
  assert.equal(await ray.get(mod.fn("add").remote(1, 2)), 3);
  await assert.rejects(attacker.request(MSG.FUNCTION_PUT, { hash, bytes: other }), (e: unknown) => {
    assert.ok(e instanceof ComponentIntegrityError, String(e));
    assert.equal(e.code, "WRAY_COMPONENT_INTEGRITY");
    assert.equal(e.hash, hash);
    assert.equal(e.actual, sha256(other));
    return true;
  });
  // the genuine bytes again: a no-op
  assert.equal(await attacker.request(MSG.FUNCTION_PUT, { hash, bytes: genuine }), null);
  assert.deepEqual(Buffer.from((await head.store.get<Uint8Array>(TABLES.functions, hash))!), genuine);
  assert.equal(await ray.get(mod.fn("add").remote(1, 2)), 3);
});

test("a host checks the hash of the bytes it loads before it compiles them (a table written behind the head's back)", async () => {
  const wanted = readFileSync(guest("errors"));
  const planted = readFileSync(guest("oom"));
  const hash = sha256(wanted);
  // as if the control store's files were changed on disk: only the hosts' check is left
  await head.store.put(TABLES.functions, hash, planted);
  const mod = await ray.load(guest("errors"));
  await assert.rejects(ray.get(mod.fn("ok").remote(5)), (e: unknown) => {
    assert.ok(e instanceof ComponentIntegrityError, String(e));
    assert.match(e.message, new RegExp(`component ${hash.slice(0, 12)}: the functions table held bytes that hash to ${sha256(planted).slice(0, 12)}`));
    return true;
  });
  assert.equal(await ray.get((await ray.load(guest("basic"))).fn("add").remote(2, 2)), 4, "the host serves on");
});

test("a node cannot change an actor that runs elsewhere, nor register absurd resources", async () => {
  const mod = await ray.load(guest("actors"));
  const counter = mod.actor("Counter").remote(5);
  assert.equal(await ray.get(counter.inc!.remote()), 6);
  const id = counter.id;
  await assert.rejects(attacker.request(MSG.ACTOR_STATE, { actor: id, state: "dead", methods: [] }), (e: unknown) => e instanceof PermissionDeniedError && /register as a node first/.test(e.message));
  const info = { nodeId: "ab".repeat(16), address: "", resources: { CPU: 1e15 * 10_000 }, driver: false, pid: 1, hostname: "evil", startedAt: 0 };
  await assert.rejects(attacker.request(MSG.NODE_REGISTER, info), (e: unknown) => (e as { code?: string }).code === "WRAY_PROTOCOL_ERROR" && /offers 1000000000000000 CPU, over the most a node may offer \(1000000\)/.test((e as Error).message));
  await attacker.request(MSG.NODE_REGISTER, { ...info, resources: { CPU: 0 } });
  await assert.rejects(attacker.request(MSG.ACTOR_STATE, { actor: id, state: "dead", methods: [], death: "forged" }), (e: unknown) => e instanceof PermissionDeniedError && /may not change actor/.test(e.message));
  assert.equal(await ray.get(counter.inc!.remote()), 7, "the actor lives on");
});

test("a token file other users can read is refused, with the fix", async () => {
  const f = join(dir.path, "token");
  writeFileSync(f, "tok\n", { mode: 0o644 });
  chmodSync(f, 0o644);
  await assert.rejects(readToken(f), (e: unknown) => (e as { code?: string }).code === "WRAY_INSECURE_TOKEN_FILE" && new RegExp(`can be read or written by every user \\(mode 644\\).*chmod 600 ${f}`).test((e as Error).message));
  chmodSync(f, 0o600);
  assert.equal(await readToken(f), "tok");
});
