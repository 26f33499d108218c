// Negative compile test: each file in negative/ must fail `tsc --strict` with the error
// named on its first line, and positive-control.ts must compile. One tsc run checks all.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

// build/polyglot/typescript/test -> polyglot/typescript
const here = join(import.meta.dirname, "..", "..", "..", "..");
const tsc = join(here, "node_modules", "typescript", "bin", "tsc");
const names = readdirSync(join(here, "negative")).filter((f) => f.endsWith(".ts"));
const options = ["--strict", "--noEmit", "--module", "NodeNext", "--moduleResolution", "NodeNext",
  "--target", "ES2022", "--types", "node", "--pretty", "false"];
const run = spawnSync(process.execPath, [tsc, ...options, ...names.map((n) => `negative/${n}`)], {
  cwd: here, encoding: "utf8",
});
const output = run.stdout + run.stderr;

// Each error's lines (its first line names the file; details follow indented), per file.
const errorsOf = new Map<string, string[]>();
let current = "";
for (const line of output.split("\n")) {
  const file = /^negative\/([^(]+)\(/.exec(line)?.[1];
  if (file !== undefined) current = file;
  else if (!line.startsWith(" ")) current = "";
  if (current) errorsOf.set(current, [...(errorsOf.get(current) ?? []), line]);
}

test("tsc ran over the negative files", () => {
  assert.ok(names.length >= 4, names.join(" "));
  assert.ok(run.status === 0 || run.status === 2, `tsc exit ${run.status}:\n${output}`);
});

for (const name of names) {
  test(`tsc --strict on negative/${name}`, () => {
    const expected = /expect-error: (.*)/.exec(readFileSync(join(here, "negative", name), "utf8"))?.[1] ?? "";
    const errors = errorsOf.get(name) ?? [];
    if (expected.startsWith("none")) {
      assert.deepEqual(errors, []);
    } else {
      assert.ok(errors.length > 0, `${name} compiled, but should fail with: ${expected}`);
      assert.ok(errors.some((line) => line.includes(expected)), `expected "${expected}" in:\n${errors.join("\n")}`);
    }
  });
}
