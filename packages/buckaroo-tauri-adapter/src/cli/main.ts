/** `buckaroo-tauri-adapter <command>`: `init` wires a Tauri app, `copy-assets` copies the grid's files. */
import { copyAssets } from "./copy-assets.js";
import { init } from "./init.js";
import { AssetError } from "../node/assets.js";
import { UsageError } from "./args.js";

const USAGE = `usage: buckaroo-tauri-adapter <command> [options]

commands:
  init         turn a create-tauri-app (Vite) project into a buckaroo viewer
               [--dir <project>] [--crate-path <path to crates/buckaroo-tauri> | --crate-version <v>] [--dry-run]
  copy-assets  copy buckaroo's widget.js + compiled.css into a static folder (apps without Vite)
               --out <dir> [--python <python>] [--force]`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === "init") return await init(rest);
    if (command === "copy-assets") return await copyAssets(rest);
    if (command === "-h" || command === "--help" || command === "help") {
      console.log(USAGE);
      return 0;
    }
    throw new UsageError(command ? `unknown command ${command}` : "no command");
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`buckaroo-tauri-adapter: ${e.message}\n${USAGE}`);
      return 2;
    }
    if (e instanceof AssetError || (e as { refused?: boolean }).refused) {
      console.error(`buckaroo-tauri-adapter ${command}: ${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
}
