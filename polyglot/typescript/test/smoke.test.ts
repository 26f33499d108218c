// Smoke test of the generated TypeScript client against the mock (`make polyglot`
// starts it and passes NEBULA_BASE_URL and NEBULA_API_KEY).
import assert from "node:assert/strict";
import { test } from "node:test";

import { bodyFor, nebulaClient, type ErrorResponse, type ModelId } from "../src/client.js";
import { greyPng, pngSize } from "./png.js";

const baseUrl = process.env.NEBULA_BASE_URL ?? "";
const apiKey = process.env.NEBULA_API_KEY ?? "";
const client = nebulaClient(baseUrl, apiKey);

// Every model of the spec; the type below fails to compile when the spec gains one.
const MODELS = [
  "stabilityai/stable-diffusion-xl-base-1.0",
  "black-forest-labs/FLUX.1-schnell",
  "Bytedance-Seedream-3.0",
  "black-forest-labs/FLUX.1-Fill-dev",
] as const satisfies readonly ModelId[];
const allModelsListed: Exclude<ModelId, (typeof MODELS)[number]> extends never ? true : false = true;

const image = greyPng(80, 64, 90, [0, 0, 0, 0]).toString("base64");
const mask = greyPng(80, 64, 0, [16, 16, 64, 48]).toString("base64");

const bodies = {
  "stabilityai/stable-diffusion-xl-base-1.0": bodyFor("stabilityai/stable-diffusion-xl-base-1.0", {
    prompt: "a lighthouse", negative_prompt: null, num_steps: 2, width: 96, height: 64,
  }),
  "black-forest-labs/FLUX.1-schnell": bodyFor("black-forest-labs/FLUX.1-schnell", {
    prompt: "a red fox", num_steps: 1, width: 64, height: 128, seed: 4294967295,
  }),
  "Bytedance-Seedream-3.0": bodyFor("Bytedance-Seedream-3.0", {
    prompt: "a tea house", guidance_scale: 2.5, width: 136, height: 72,
  }),
  "black-forest-labs/FLUX.1-Fill-dev": bodyFor("black-forest-labs/FLUX.1-Fill-dev", {
    prompt: "a boat", num_steps: 1, width: 80, height: 64, image, mask,
  }),
} satisfies Record<(typeof MODELS)[number], unknown>;

function assertApiError(error: ErrorResponse | undefined, status: number, actual: number) {
  assert.equal(actual, status);
  assert.ok(error, `no error body with ${status}`);
  assert.equal(error.status, "failed");
  assert.equal(typeof error.message, "string");
}

test("the catalogue lists every image model of the spec", async () => {
  assert.ok(allModelsListed);
  const { data, error } = await client.GET("/serverless/models");
  assert.equal(error, undefined);
  const images = (data?.data.models ?? []).filter((m) => m.model_type === "Image");
  assert.deepEqual(images.map((m) => m.model_name).sort(), [...MODELS].sort());
});

for (const model of MODELS) {
  test(`generates a PNG of the size asked with ${model}`, async () => {
    const body = bodies[model];
    const { data, error, response } = await client.POST("/images/generation", { body });
    assert.equal(error, undefined, JSON.stringify(error));
    assert.equal(response.status, 200);
    assert.ok(data);
    // The 200 body is a one-of, told apart by `status`: the images, or a failed generation.
    if (data.status !== "success") assert.fail(`a 200 that is not the images: ${data.message}`);
    assert.equal(data.model, model);
    assert.equal(data.data.length, 1);
    const size = pngSize(Buffer.from(data.data[0].b64_json, "base64"));
    assert.deepEqual(size, { width: body.width, height: body.height });
    if (model === "black-forest-labs/FLUX.1-schnell") assert.equal(data.data[0].seed, 4294967295);
  });
}

test("a wrong key is a typed 401", async () => {
  const stranger = nebulaClient(baseUrl, "not-a-key");
  const { data, error, response } = await stranger.GET("/serverless/models");
  assert.equal(data, undefined);
  assertApiError(error, 401, response.status);
});

test("an unknown model is a typed 404", async () => {
  const { error, response } = await client.POST("/images/generation", {
    body: { model_name: "acme/imaginary-1", prompt: "anything" },
  });
  assertApiError(error, 404, response.status);
  assert.match(error?.message ?? "", /model_name/);
});

test("a width that breaks the schema is a typed 422", async () => {
  // The type says `number`; "a multiple of 8" is the server's to check.
  const body = bodyFor("stabilityai/stable-diffusion-xl-base-1.0", { prompt: "x", width: 100 });
  const { error, response } = await client.POST("/images/generation", { body });
  assertApiError(error, 422, response.status);
  assert.match(error?.message ?? "", /width/);
});
