// expect-error: 'num_steps' does not exist
import type { components } from "../../../generated/typescript/schema.js";
export const body = {
  model_name: "Bytedance-Seedream-3.0",
  prompt: "x",
  num_steps: 4,
} satisfies components["schemas"]["SeedreamRequest"];
