#!/usr/bin/env node
// The `quiver` command: runs the compiled CLI (npm install builds dist/).
import { main } from '../dist/cli/main.js';

main(process.argv).catch((err) => {
  console.error(err);
  process.exit(1);
});
