// expect-error: none (this file must compile: the checks above fail for their reason only)
import type { components } from "../../../generated/typescript/schema.js";
import { bodyFor } from "../src/client.js";
export const sdxl = bodyFor("stabilityai/stable-diffusion-xl-base-1.0", { prompt: "x", num_steps: 4 });
export const seedream = {
  model_name: "Bytedance-Seedream-3.0",
  prompt: "x",
} satisfies components["schemas"]["SeedreamRequest"];
export const other = bodyFor("black-forest-labs/FLUX.1-schnell", { prompt: "x", seed: 4294967295 });
