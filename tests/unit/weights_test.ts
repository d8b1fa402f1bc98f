import { strictEqual } from "node:assert";
import { computeWeights, primaryPortion } from "../../lib/balance/weights.ts";
import type { PoolMember } from "../../lib/model/pool_member.ts";

function member(port: number, ...shares: number[]): PoolMember {
  return {
    endpoint: { host: "10.0.0.1", port, ports: {} },
    source: "static.t",
    factors: shares.map((s, i) => ({ name: `f${i}`, share: s, detail: "t" })),
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

interface Case {
  name: string;
  primary: number[][];
  overflow: number[][];
  threshold?: number;
  adjust?: boolean;
  /** Expected traffic fractions, primaries then overflow. */
  fractions: number[];
  failOpen?: boolean;
}

const cases: Case[] = [
  { name: "no adjusters: equal", primary: [[], []], overflow: [], fractions: [0.5, 0.5] },
  {
    name: "shares multiply within an endpoint",
    primary: [[0.5, 0.5], [1]],
    overflow: [],
    fractions: [0.2, 0.8],
  },
  {
    name: "unhealthy primary gets nothing",
    primary: [[0], [1], [1]],
    overflow: [],
    fractions: [0, 0.5, 0.5],
  },
  {
    name: "overflow off while primaries healthy (no threshold)",
    primary: [[1], [0]],
    overflow: [[1]],
    fractions: [1, 0, 0],
  },
  {
    name: "no threshold: overflow takes all when primaries have no capacity",
    primary: [[0], [0]],
    overflow: [[1], [1]],
    fractions: [0, 0, 0.5, 0.5],
  },
  {
    name: "threshold: h >= t keeps overflow at 0",
    primary: [[1], [1], [1], [0]],
    overflow: [[1]],
    threshold: 75,
    fractions: [1 / 3, 1 / 3, 1 / 3, 0, 0],
  },
  {
    name: "threshold: h < t sends 1 - h/t to overflow",
    primary: [[1], [0], [0], [0]],
    overflow: [[1]],
    threshold: 50,
    // h = 0.25, t = 0.5: primaries carry 0.5, overflow 0.5
    fractions: [0.5, 0, 0, 0, 0.5],
  },
  {
    name: "threshold: all primaries down sends everything to overflow",
    primary: [[0], [0]],
    overflow: [[1], [0.5]],
    threshold: 80,
    fractions: [0, 0, 2 / 3, 1 / 3],
  },
  {
    name: "threshold with no overflow capacity keeps traffic on primaries",
    primary: [[1], [0]],
    overflow: [[0]],
    threshold: 80,
    fractions: [1, 0, 0],
  },
  {
    name: "fail open: nothing has capacity, primaries equal",
    primary: [[0], [0]],
    overflow: [[0]],
    fractions: [0.5, 0.5, 0],
    failOpen: true,
  },
  {
    name: "fail open: no primaries and overflow all down, overflow equal",
    primary: [],
    overflow: [[0], [0]],
    fractions: [0.5, 0.5],
    failOpen: true,
  },
  {
    name: "only overflow endpoints with capacity take everything",
    primary: [],
    overflow: [[1], [1]],
    threshold: 50,
    fractions: [0.5, 0.5],
  },
  {
    name: "adjustment delay: primaries equal whatever their shares, overflow off",
    primary: [[0], [0.3]],
    overflow: [[1]],
    adjust: false,
    fractions: [0.5, 0.5, 0],
  },
  {
    name: "adjustment delay with no primaries: overflow equal",
    primary: [],
    overflow: [[0], [1]],
    adjust: false,
    fractions: [0.5, 0.5],
  },
  { name: "no endpoints at all", primary: [], overflow: [], fractions: [] },
];

for (const c of cases) {
  Deno.test(`computeWeights: ${c.name}`, () => {
    let port = 1000;
    const r = computeWeights({
      primary: c.primary.map((s) => member(port++, ...s)),
      overflow: c.overflow.map((s) => member(port++, ...s)),
      overflowThresholdPct: c.threshold,
      adjust: c.adjust ?? true,
    });
    strictEqual(
      JSON.stringify(r.endpoints.map((e) => round(e.fraction))),
      JSON.stringify(c.fractions.map(round)),
    );
    strictEqual(r.failOpen, c.failOpen ?? false);
    const total = r.endpoints.reduce((a, e) => a + e.fraction, 0);
    if (r.endpoints.length) strictEqual(round(total), 1, "fractions must add up to 1");
  });
}

Deno.test("computeWeights: integer weights proportional to fractions, largest is MAX_WEIGHT", () => {
  const r = computeWeights({
    primary: [member(1, 1), member(2, 0.25), member(3, 0.001), member(4, 0)],
    overflow: [],
    adjust: true,
  });
  strictEqual(JSON.stringify(r.endpoints.map((e) => e.weight)), JSON.stringify([1000, 250, 1, 0]));
  for (const e of r.endpoints) strictEqual(Number.isInteger(e.weight), true);
});

Deno.test("computeWeights: the audit shows base, each factor, normalisation and the final weight", () => {
  const m = (port: number, ramp: number): PoolMember => ({
    endpoint: { host: "agent1.example.com", port, ports: {} },
    address: "10.0.0.1",
    source: "aurora:r/e/j",
    factors: [
      { name: "health", share: 1, detail: "healthy" },
      { name: "ramp", share: ramp, detail: `ramping (${ramp})` },
    ],
  });
  // h = 0.25 of primary capacity, threshold 50%: primaries carry 0.5, overflow 0.5.
  const r = computeWeights({
    primary: [m(1, 0.5), m(2, 0.5), {
      ...m(3, 1),
      factors: [{ name: "health", share: 0, detail: "unhealthy" }],
    }, {
      ...m(4, 1),
      factors: [{ name: "health", share: 0, detail: "unhealthy" }],
    }],
    overflow: [m(5, 1)],
    overflowThresholdPct: 50,
    adjust: true,
  });
  strictEqual(
    r.endpoints[0].audit.join(" | "),
    "primary | src=aurora:r/e/j | host=agent1.example.com | base=1 | health=1 (healthy) | " +
      "ramp=0.5 (ramping (0.5)) | share=0.5 | share 0.5/1 of primary portion 0.5 | " +
      "fraction=0.25 | weight=500 (max fraction 0.5 = 1000)",
  );
  strictEqual(
    r.endpoints[4].audit.join(" | "),
    "overflow | src=aurora:r/e/j | host=agent1.example.com | base=1 | health=1 (healthy) | " +
      "ramp=1 (ramping (1)) | share=1 | share 1/1 of overflow portion 0.5 | fraction=0.5 | " +
      "weight=1000 (max fraction 0.5 = 1000)",
  );
  strictEqual(r.endpoints[2].audit.at(-1), "weight=0");
  strictEqual(r.endpoints[0].address, "10.0.0.1");
  strictEqual(r.notes[0], "primary capacity h=0.25 threshold=50% -> primary 0.5, overflow 0.5");
});

Deno.test("computeWeights: adjusters' state is carried to the snapshot as data", () => {
  const [e] = computeWeights({
    primary: [{
      endpoint: { host: "10.0.0.1", port: 80, ports: {} },
      source: "s",
      factors: [{ name: "ramp", share: 0.5, detail: "ramping", state: { progress: 0.5 } }],
    }],
    overflow: [],
    adjust: true,
  }).endpoints;
  strictEqual(
    JSON.stringify(e.factors),
    '[{"name":"ramp","share":0.5,"detail":"ramping","state":{"progress":0.5}}]',
  );
});

Deno.test("computeWeights: a factor above 1 or NaN is clamped", () => {
  const r = computeWeights({ primary: [member(1, 7), member(2, NaN)], overflow: [], adjust: true });
  strictEqual(JSON.stringify(r.endpoints.map((e) => e.share)), "[1,0]");
});

Deno.test("primaryPortion: threshold 0 overflows only when every primary is down", () => {
  strictEqual(primaryPortion(0.01, 0, true), 1);
  strictEqual(primaryPortion(0, 0, true), 0);
  strictEqual(primaryPortion(0, 0, false), 1);
  strictEqual(primaryPortion(0.4, 80, true), 0.5);
});
