/**
 * The Istio release a rendering targets: which WasmPlugin / TrafficExtension fields it has and
 * which real CRD (schema and CEL rules, from istio.io/api; crds-by-version.gen.json) it is
 * validated against.
 *
 * Feature floors are the first Istio minor whose istio/api release branch has the field
 * (reference: istio-wasmplugin.md §1.1): `targetRefs` 1.22, `failStrategy: FAIL_RELOAD` 1.27,
 * `TrafficExtension` 1.30 (which supersedes WasmPlugin). The CRD of a minor is the vendored one of
 * the same minor when there is one, else the nearest newer vendored release (istio.io/api only
 * publishes some releases as Go module versions); the feature floors then refuse what the target
 * minor does not have yet, so a newer CRD never lets through a field the target would drop.
 */
import { readFileSync } from "node:fs";
import { UserError } from "../../errors.ts";
import type { CrdDefinition } from "../crds/types.ts";

export interface IstioVersion {
  major: number;
  minor: number;
  /** As written, e.g. "1.28" or "1.28.3". */
  text: string;
}

export const FEATURE_FLOORS = {
  targetRefs: 22,
  failReload: 27,
  trafficExtension: 30,
} as const;

/** Istio minors below this have no vendored CRD and are refused. */
export const OLDEST_SUPPORTED_MINOR = 24;

interface VendoredCrds {
  releases: Record<string, Record<string, string>>;
  schemas: Record<string, CrdDefinition>;
}

let vendored: VendoredCrds | undefined;
function load(): VendoredCrds {
  vendored ??= JSON.parse(readFileSync(new URL("./crds-by-version.gen.json", import.meta.url), "utf8")) as VendoredCrds;
  return vendored;
}

/** `1.28`, `1.28.3`, `v1.28` -> IstioVersion; anything else is a UserError naming `where`. */
export function parseIstioVersion(text: string, where = "istioVersion"): IstioVersion {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?$/.exec(text.trim());
  if (!m) throw new UserError(`${where}: expected an Istio version such as "1.28", got ${JSON.stringify(text)}`);
  const v = { major: Number(m[1]), minor: Number(m[2]), text: text.trim() };
  if (v.major !== 1 || v.minor < OLDEST_SUPPORTED_MINOR) {
    throw new UserError(`${where}: Istio ${v.text} is not supported (WasmPlugin CRDs are carried from 1.${OLDEST_SUPPORTED_MINOR} on)`);
  }
  return v;
}

/** The vendored istio.io/api module versions, oldest first. */
export function vendoredReleases(): string[] {
  const minorOf = (r: string) => Number(/^v1\.(\d+)\./.exec(r)![1]);
  return Object.keys(load().releases).sort((a, b) => minorOf(a) - minorOf(b));
}

export interface TargetCrd {
  crd: CrdDefinition;
  /** The istio.io/api module version the CRD comes from, e.g. "v1.29.8". */
  release: string;
  /** True when the release is of the target's own minor. */
  exact: boolean;
}

/** The real CRD of `kind` for the target release; a UserError when the release has no such kind. */
export function crdForTarget(kind: "WasmPlugin" | "TrafficExtension", target: IstioVersion): TargetCrd {
  const data = load();
  const releases = vendoredReleases();
  const minorOf = (r: string) => Number(/^v1\.(\d+)\./.exec(r)![1]);
  const release = releases.find((r) => minorOf(r) === target.minor) ?? releases.find((r) => minorOf(r) > target.minor) ?? releases[releases.length - 1]!;
  if (kind === "TrafficExtension" && target.minor < FEATURE_FLOORS.trafficExtension) {
    throw new UserError(`kind TrafficExtension needs Istio >= 1.${FEATURE_FLOORS.trafficExtension}; the target is Istio ${target.text} (use WasmPlugin)`);
  }
  const id = data.releases[release]![kind];
  if (!id) throw new UserError(`istio.io/api ${release} has no ${kind} CRD`);
  return { crd: data.schemas[id]!, release, exact: minorOf(release) === target.minor };
}

/** The default failure strategy of a plugin that may fail open: FAIL_RELOAD where the target has it. */
export function recoverableFailStrategy(target: IstioVersion): "FAIL_RELOAD" | "FAIL_OPEN" {
  return target.minor >= FEATURE_FLOORS.failReload ? "FAIL_RELOAD" : "FAIL_OPEN";
}
