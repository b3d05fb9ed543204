#!/usr/bin/env node
// `buckaroo-tauri-copy-assets …` = `buckaroo-tauri-adapter copy-assets …` (the older name).
import { main } from "../dist/cli/main.js";

process.exitCode = await main(["copy-assets", ...process.argv.slice(2)]);
