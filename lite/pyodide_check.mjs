// The simulator under Pyodide (WebAssembly CPython) in Node.js: the same command as on CPython
// must print the same JSON rows, byte for byte, for the same seed.
//
//   node lite/pyodide_check.mjs WHEEL_DIR EXPECTED_DIR ARGS_FILE
//
// WHEEL_DIR holds pure-Python wheels (simpy's and coreylab's): they are unpacked into Pyodide's
// file system and put on sys.path, so nothing is fetched from a CDN (the pyodide npm package
// ships the interpreter and the standard library only). ARGS_FILE has one `coreylab` command
// line per line (JSON arrays); EXPECTED_DIR/N.json is CPython's output for line N.
// Prints one timing line per run; exits 1 on the first difference.
import { readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { loadPyodide } from "pyodide";

const [wheelDir, expectedDir, argsFile] = process.argv.slice(2).map((p) => resolve(p));
const started = performance.now();
const pyodide = await loadPyodide();
console.log(`pyodide ${pyodide.version}: started in ${((performance.now() - started) / 1000).toFixed(1)} s`);

pyodide.FS.mkdirTree("/wheels");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: wheelDir }, "/wheels");
const wheels = readdirSync(wheelDir).filter((f) => f.endsWith(".whl"));
pyodide.runPython(`
import sys, zipfile
for wheel in ${JSON.stringify(wheels)}:
    zipfile.ZipFile("/wheels/" + wheel).extractall("/site")
sys.path.insert(0, "/site")
`);

const commands = readFileSync(argsFile, "utf8").split("\n").filter((l) => l.trim());
let failed = false;
for (const [i, line] of commands.entries()) {
  const t0 = performance.now();
  pyodide.globals.set("argv", pyodide.toPy(JSON.parse(line)));
  const out = pyodide.runPython(`
import contextlib, io
from coreylab.cli import main
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    code = main(list(argv))
assert code == 0, code
buf.getvalue()
`);
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  const expected = readFileSync(`${expectedDir}/${i}.json`, "utf8");
  const same = out === expected;
  console.log(`${same ? "same" : "DIFFERENT"} rows (${out.length} bytes) in ${seconds} s: coreylab ${JSON.parse(line).join(" ")}`);
  if (!same) {
    console.log(`--- CPython\n${expected}\n--- Pyodide\n${out}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
