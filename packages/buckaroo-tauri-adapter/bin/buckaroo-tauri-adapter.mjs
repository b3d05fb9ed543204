#!/usr/bin/env node
// The adapter's command line; the code lives in dist/cli (built from src/cli).
import { main } from "../dist/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
