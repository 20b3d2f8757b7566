/** How task and actor options name a placement group (the driver's PlacementGroup is one), apart so that options and actors both use it. */
export interface GroupTarget {
  /** The group's ID, hex. */
  readonly id: string;
  readonly bundleCount: number;
}

/** The group a task or actor is scheduled into, checked (host/node/options.ts). */
export interface GroupPlace {
  readonly group: GroupTarget;
  readonly index: number;
}
