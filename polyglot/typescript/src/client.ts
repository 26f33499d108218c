// The TypeScript client of openapi.yaml: openapi-fetch over the types that
// openapi-typescript generates into generated/typescript/schema.d.ts.
import createClient from "openapi-fetch";
import type { components, paths } from "../../../generated/typescript/schema.js";

export type Schemas = components["schemas"];
export type ImageRequest = Schemas["ImageGenerationRequest"];
export type ErrorResponse = Schemas["ErrorResponse"];

// The per-model request schemas: the members of the request union whose `model_name`
// is a literal (the fallback `OtherModelRequest` has `model_name: string`).
type KnownOnly<U> = U extends { model_name: infer N } ? (string extends N ? never : U) : never;
export type KnownRequest = KnownOnly<ImageRequest>;
export type ModelId = KnownRequest["model_name"];
export type BodyFor<M extends ModelId> = Extract<KnownRequest, { model_name: M }>;

/**
 * A request body for one model, checked against that model's schema only.
 *
 * Typed as the whole request union, `{ model_name: "stabilityai/...", seed: 1 }` compiles
 * (it matches `OtherModelRequest`); through `bodyFor` a parameter the model does not
 * take, or a missing required one, is a compile error. `satisfies BodyFor<...>` (or
 * `satisfies components["schemas"]["SDXLRequest"]`) on an object literal does the same.
 */
export function bodyFor<M extends ModelId>(
  model: M,
  params: Omit<BodyFor<M>, "model_name">,
): BodyFor<M> {
  return { ...params, model_name: model } as BodyFor<M>;
}

export function nebulaClient(baseUrl: string, apiKey: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });
}
