// expect-error: 'seed' does not exist
import { bodyFor } from "../src/client.js";
export const body = bodyFor("stabilityai/stable-diffusion-xl-base-1.0", { prompt: "x", seed: 7 });
