/**
 * The layer rules of DESIGN.md, checked by dependency-cruiser (`npm run check:layers`): imports point down
 * only, and no files of src/ import each other in a circle. From the top:
 *
 *   cli, server, src/index.ts, src/quiver.ts (the façade)
 *     → distributed (bulk runs on BullMQ/Redis: jobs, workers, the shared store)
 *     → models → engine → pool → backends
 *     → data, errors.ts, types.ts (the ground floor)
 *
 * Each layer's rule lists what lies above it. Type-only imports count: a type from a layer above is as much
 * a tie to it as a value.
 */
const TOP = '^src/(cli|server)/|^src/(index|quiver)\\.ts$';
const DISTRIBUTED = '^src/distributed/';
const MODELS = '^src/models/';
const ENGINE = '^src/engine/';
const POOL = '^src/pool/';
const BACKENDS = '^src/backends/';

/** A rule that keeps the files of `from` from importing those of the layers in `above`. */
function layer(name, from, above, comment) {
  return { name, comment, severity: 'error', from: { path: from }, to: { path: above.join('|') } };
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No files of src/ import each other in a circle (DESIGN.md, Layers).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every relative import resolves to a file (else the layer rules could not see where it points).',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true, path: '^[.]' },
    },
    layer('distributed-not-up', DISTRIBUTED, [TOP], 'Distributed runs are driven by the CLI (and could be by the server); they never import them.'),
    layer('models-not-up', MODELS, [TOP, DISTRIBUTED], 'Models are used by the CLI, the server and the library index; they never import them.'),
    {
      name: 'models-not-to-backends',
      comment: 'A model never calls a backend directly: it asks the engine (only the contract types and constants are shared).',
      severity: 'error',
      from: { path: MODELS },
      to: { path: BACKENDS, pathNot: '^src/backends/types\\.ts$' },
    },
    layer('engine-not-up', ENGINE, [TOP, DISTRIBUTED, MODELS], 'The engine offers kernels and knows no model (conveniences live in the façade, src/quiver.ts).'),
    layer('pool-not-up', POOL, [TOP, DISTRIBUTED, MODELS, ENGINE], 'The pool runs named handlers it is given and imports nothing from the engine.'),
    layer('backends-not-up', BACKENDS, [TOP, DISTRIBUTED, MODELS, ENGINE, POOL], 'Backends implement the kernel contract and know nothing above it.'),
    layer(
      'ground-not-up',
      '^src/data/|^src/(errors|types)\\.ts$',
      [TOP, DISTRIBUTED, MODELS, ENGINE, POOL, BACKENDS],
      'data, errors and types are the ground floor, used by every layer above and importing none of them.',
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    // With the tsconfig, `./x.js` in a source file resolves to `./x.ts` (NodeNext), as TypeScript does.
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
