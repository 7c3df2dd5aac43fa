/**
 * The subset of a CustomResourceDefinition the manager keeps (apiextensions.k8s.io/v1): the
 * resource's identity and, per version, its structural OpenAPI v3 schema with the Kubernetes
 * extensions (`x-kubernetes-*`), as published.
 */
export interface JsonSchema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  not?: JsonSchema;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-validations"?: Array<{ rule: string; message?: string; messageExpression?: string; reason?: string; fieldPath?: string }>;
}

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema: JsonSchema;
}

export interface CrdDefinition {
  group: string;
  kind: string;
  plural: string;
  scope: "Namespaced" | "Cluster";
  versions: CrdVersion[];
}
