/**
 * The dashboard JSON against the dashboard schema of the library that builds it: the emitted JSON
 * (as written to deploy/grafana/) is compiled by TypeScript as an object literal of the
 * @grafana/grafana-foundation-sdk types, with each panel's `options`, `fieldConfig.defaults.custom`
 * and `targets` checked against its panel plugin's and Prometheus's types (the dashboard type
 * leaves them open). Object-literal checking reports unknown fields, wrong types and enum
 * values outside the schema. Negative cases show the check rejects them.
 */
import ts from "typescript";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildGrpcDashboard } from "./grpc-dashboard.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const VIRTUAL = join(HERE, "__dashboard_schema_check__.ts");

const PRELUDE = `
import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import type * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import type * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import type * as table from "@grafana/grafana-foundation-sdk/table";
type Fn = (...args: never[]) => unknown;
/** The JSON form of a schema type: no methods, string enums as their values. */
type Json<T> = T extends string ? \`\${T}\` : T extends number | boolean | null | undefined ? T : T extends Fn ? never
  : T extends readonly (infer U)[] ? Json<U>[] : { [K in keyof T as T[K] extends Fn ? never : K]: Json<T[K]> };
type Query = Json<prometheus.Dataquery>;
type FieldConfigSource<Custom> = Omit<Json<dashboard.FieldConfigSource>, "defaults"> & {
  defaults: Omit<Json<dashboard.FieldConfig>, "custom"> & { custom?: Json<Custom> };
};
type PanelOf<Type extends string, Options, Custom> = Omit<Json<dashboard.Panel>, "type" | "options" | "fieldConfig" | "targets"> & {
  type: Type; options?: Json<Options>; fieldConfig?: FieldConfigSource<Custom>; targets?: Query[];
};
type Panel = PanelOf<"timeseries", timeseries.Options, timeseries.FieldConfig> | PanelOf<"table", table.Options, table.FieldConfig>;
type Row = Omit<Json<dashboard.RowPanel>, "panels"> & { panels: Panel[] };
type Dashboard = Omit<Json<dashboard.Dashboard>, "panels"> & { panels?: Array<Panel | Row> };
export const checked: Dashboard = `;

/** TypeScript's diagnostics for the JSON as a schema-typed literal; [] when it conforms. */
function schemaErrors(json: unknown): string[] {
  const source = `${PRELUDE}${JSON.stringify(json, null, 1)};\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === VIRTUAL ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === VIRTUAL || fileExists(name);
  const program = ts.createProgram([VIRTUAL], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === VIRTUAL || d.file === undefined)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n").split("\n")[0]!);
}

describe("the gRPC dashboard against the SDK's dashboard schema", () => {
  const built = () => JSON.parse(JSON.stringify(buildGrpcDashboard())) as Record<string, any>;

  it("conforms, panel options and Prometheus queries included", () => {
    expect(schemaErrors(built())).toEqual([]);
  }, 60_000);

  it("rejects an unknown field, a wrong type and a value outside an enum", () => {
    const unknownField = built();
    unknownField.panels[1].targets[0].exprs = "up";
    expect(schemaErrors(unknownField).join("\n")).toMatch(/known properties, and '"exprs"' does not exist/);

    const wrongType = built();
    wrongType.schemaVersion = "42";
    expect(schemaErrors(wrongType).join("\n")).toMatch(/Type 'string' is not assignable to type 'number'/);

    const badEnum = built();
    badEnum.panels[1].options.tooltip.mode = "everything";
    expect(schemaErrors(badEnum).join("\n")).toMatch(/"everything"/);

    const badOption = built();
    badOption.panels[1].fieldConfig.defaults.custom.fillOpacty = 10;
    expect(schemaErrors(badOption).join("\n")).toMatch(/known properties, and '"fillOpacty"' does not exist/);
  }, 60_000);
});
