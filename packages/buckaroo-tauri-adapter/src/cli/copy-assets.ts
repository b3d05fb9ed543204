/** `copy-assets`: buckaroo's grid into a static folder, for apps that do not use Vite. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { assetSources, checkWidget, locateBuckaroo, resolvePython, untestedWarning } from "../node/assets.js";
import { parseOptions, UsageError } from "./args.js";

export async function copyAssets(argv: string[]): Promise<number> {
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log("usage: buckaroo-tauri-adapter copy-assets --out <dir> [--python <python>] [--force]");
    return 0;
  }
  const opts = parseOptions(argv, ["out", "python"], ["force"]);
  if (typeof opts.out !== "string") throw new UsageError("copy-assets needs --out <dir>");
  const install = locateBuckaroo(resolvePython(opts.python as string | undefined), opts.force === true);
  await checkWidget(install);
  const warning = untestedWarning(install);
  if (warning) console.warn(`buckaroo-tauri-adapter copy-assets: warning: ${warning}`);
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  for (const [name, body] of assetSources(install)) writeFileSync(join(out, name), body);
  console.log(`buckaroo-tauri-adapter copy-assets: buckaroo ${install.version} widget.js + compiled.css -> ${out}`);
  return 0;
}
