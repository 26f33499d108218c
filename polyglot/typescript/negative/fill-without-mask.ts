// expect-error: Property 'mask' is missing
import { bodyFor } from "../src/client.js";
export const body = bodyFor("black-forest-labs/FLUX.1-Fill-dev", { prompt: "x", image: "AAAA" });
