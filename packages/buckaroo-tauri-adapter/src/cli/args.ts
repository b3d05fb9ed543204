/** Command-line parsing shared by the subcommands. */

/** Thrown for a wrong command line: printed with the usage, exit 2. */
export class UsageError extends Error {}

/** `--name value` and `--flag` options; anything else is a usage error. */
export function parseOptions(argv: string[], valued: string[], flags: string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.replace(/^--/, "");
    if (a.startsWith("--") && valued.includes(name)) {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      out[name] = v;
    } else if (a.startsWith("--") && flags.includes(name)) out[name] = true;
    else throw new UsageError(`unknown argument ${a}`);
  }
  return out;
}
