#!/usr/bin/env node
// The `quiver` command: runs the compiled CLI in dist/ (`npm install` or `npm run build` makes it in a clone; the
// package ships it). main() reports every error itself; the lines below only cover a missing or broken dist/.
const verbose = process.argv.includes('--verbose');

function fatal(err, hint) {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`quiver: INTERNAL: ${msg.replace(/\s*\n\s*/g, ' ')}${hint}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(70);
}

let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (err) {
  fatal(err, ' (dist/ is missing or stale: run `npm run build` in the checkout)');
}
await cli.main(process.argv).catch((err) => fatal(err, verbose ? '' : ' (rerun with --verbose for the stack trace)'));
