import assert from "node:assert/strict";
import { test } from "node:test";
import { UNIT, bundleResources, bundleShape, groupOfShape, inGroup, placeBundles, shapeOf } from "../../scheduler/index.js";

const cpus = (n: number) => shapeOf({ numCpus: n });
const node = (nodeId: string, cpu: number, extra: Record<string, number> = {}) => ({ nodeId, amounts: { CPU: cpu * UNIT, ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, v * UNIT])) } });

test("STRICT_PACK puts every bundle on one node, or nowhere", () => {
  assert.deepEqual(placeBundles([node("a", 2), node("b", 4)], [cpus(1), cpus(2)], "STRICT_PACK"), ["b", "b"]);
  assert.equal(placeBundles([node("a", 2), node("b", 2)], [cpus(2), cpus(1)], "STRICT_PACK"), undefined);
});

test("PACK prefers one node, then packs onto the nodes it already uses", () => {
  assert.deepEqual(placeBundles([node("a", 2), node("b", 3)], [cpus(1), cpus(1)], "PACK"), ["b", "b"]);
  // no node holds all three: the second goes where the first went while it fits
  assert.deepEqual(placeBundles([node("a", 2), node("b", 2)], [cpus(1), cpus(1), cpus(1)], "PACK"), ["a", "a", "b"]);
  assert.equal(placeBundles([node("a", 1), node("b", 1)], [cpus(1), cpus(1), cpus(1)], "PACK"), undefined);
});

test("STRICT_SPREAD puts each bundle on a node of its own; SPREAD spreads as it can", () => {
  assert.deepEqual(placeBundles([node("a", 4), node("b", 4)], [cpus(1), cpus(1)], "STRICT_SPREAD")?.sort(), ["a", "b"]);
  assert.equal(placeBundles([node("a", 4), node("b", 4)], [cpus(1), cpus(1), cpus(1)], "STRICT_SPREAD"), undefined);
  const spread = placeBundles([node("a", 4), node("b", 4)], [cpus(1), cpus(1), cpus(1)], "SPREAD")!;
  assert.equal(new Set(spread).size, 2, "both nodes are used");
  assert.deepEqual(placeBundles([node("a", 4), node("b", 0)], [cpus(1), cpus(1)], "SPREAD"), ["a", "a"], "best effort: one node when only one fits");
});

test("a node is never given more than it has, custom resources included", () => {
  assert.equal(placeBundles([node("a", 4, { TPU: 1 })], [shapeOf({ numCpus: 1, resources: { TPU: 1 } }), shapeOf({ numCpus: 1, resources: { TPU: 1 } })], "PACK"), undefined);
  assert.deepEqual(placeBundles([node("a", 4, { TPU: 1 }), node("b", 4, { TPU: 1 })], [shapeOf({ numCpus: 1, resources: { TPU: 1 } }), shapeOf({ numCpus: 1, resources: { TPU: 1 } })], "PACK")?.sort(), ["a", "b"]);
});

test("a bundle's resources and a task's demand in it are renamed to the group's", () => {
  const pg = "0123456789abcdef0123456789abcdef";
  const res = Object.fromEntries(bundleResources(pg, 1, cpus(2)));
  assert.equal(res[`CPU_group_1_${pg}`], 2 * UNIT);
  assert.equal(res[`CPU_group_${pg}`], 2 * UNIT);
  assert.ok(res[`bundle_group_1_${pg}`]! > 0 && res[`bundle_group_${pg}`]! > 0);
  const inOne = bundleShape(pg, 1, cpus(1));
  assert.deepEqual(inOne.entries.map(([k]) => k), [`CPU_group_1_${pg}`, `bundle_group_1_${pg}`]);
  const anyBundle = bundleShape(pg, -1, shapeOf({ numCpus: 0 }));
  assert.deepEqual(anyBundle.entries.map(([k]) => k), [`bundle_group_${pg}`], "a task of no CPU still lands in the group");
  assert.ok(inGroup(inOne, pg) && !inGroup(cpus(1), pg));
  assert.equal(groupOfShape(inOne), pg);
  assert.equal(groupOfShape(cpus(1)), undefined);
});
