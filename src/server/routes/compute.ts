/** Similarity and top-k over matrices sent in the request (JSON rows, .npy or Arrow). */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Static } from 'typebox';
import { matrixToRows } from '../../data/matrix.js';
import { QuiverError } from '../../errors.js';
import type { Matrix, Metric } from '../../types.js';
import { ARROW, NPY, acceptedBinary, encodeColumns, encodeMatrix, isBinaryBody, matrixFromBinary, matrixFromJson } from '../codec.js';
import { checkK, checkMatrixLimits, compute, COMPUTE, type ServerContext } from '../context.js';
import { binaryNote, errorResponses } from '../schemas/common.js';
import { computeSchemas } from '../schemas/compute.js';

type Schemas = ReturnType<typeof computeSchemas>;

/** JSON bodies are validated by their schema; binary bodies pass through to the route. */
export function bodyContent(schema: unknown) {
  return {
    required: true,
    content: {
      'application/json': { schema },
      [NPY]: { schema: { type: 'string', format: 'binary', description: 'a .npy file: one float32/float64 C-order matrix' } },
      [ARROW]: { schema: { type: 'string', format: 'binary', description: 'an Arrow IPC stream: a table of numeric columns' } },
    },
  };
}

/** A route with a content-typed body sees no validation when the request has no body at all: refuse it here. */
export function requireBody(body: unknown): void {
  if (body === undefined || body === null) {
    throw new QuiverError('INVALID_ARGUMENT', `the request has no body; send JSON (application/json), ${NPY} or ${ARROW}`);
  }
}

function send(reply: FastifyReply, out: { type: string; body: Buffer }): FastifyReply {
  return reply.type(out.type).send(out.body);
}

export async function computeRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { SimilarityBody, SimilarityQuery, SimilarityReply, TopkBody, TopkQuery, TopkReply } = computeSchemas(ctx.limits);
  app.post(
    '/v1/similarity',
    {
config: COMPUTE,       schema: {
        summary: 'all-pairs similarity of the rows of a (against b, or a itself)',
        description: binaryNote,
        body: bodyContent(SimilarityBody),
        querystring: SimilarityQuery,
        response: { 200: SimilarityReply, ...errorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query as Static<Schemas['SimilarityQuery']>;
      let a: Matrix;
      let b: Matrix | undefined;
      let metric: Metric | undefined = q.metric;
      requireBody(request.body);
      if (isBinaryBody(request.body)) {
        a = matrixFromBinary(request.body).matrix;
      } else {
        const body = request.body as Static<Schemas['SimilarityBody']>;
        a = matrixFromJson(body.a, 'a');
        b = body.b ? matrixFromJson(body.b, 'b') : undefined;
        metric = body.metric ?? metric;
      }
      checkMatrixLimits(a, 'a', ctx.limits);
      if (b) checkMatrixLimits(b, 'b', ctx.limits);
      const cells = a.rows * (b ?? a).rows;
      if (cells > ctx.limits.maxSimilarityCells) {
        throw new QuiverError(
          'TOO_LARGE',
          `the answer would have ${cells} cells; the limit is ${ctx.limits.maxSimilarityCells} (maxSimilarityCells) — use /v1/topk for neighbours`,
          { limit: 'maxSimilarityCells', value: cells, max: ctx.limits.maxSimilarityCells },
        );
      }
      const s = await compute(ctx, reply, (signal) => ctx.engine.cosineSimilarity(a, b, { metric, signal }));
      const bin = acceptedBinary(request.headers.accept);
      if (bin) return send(reply, encodeMatrix(bin, s));
      return { rows: s.rows, cols: s.cols, similarities: matrixToRows(s) };
    },
  );

  app.post(
    '/v1/topk',
    {
config: COMPUTE,       schema: {
        summary: 'exact top-k neighbours of each query among the base rows (default: the queries themselves)',
        description: `${binaryNote} A binary body is the query matrix and the base (self-join); k, metric and excludeSelf go in the query string.`,
        body: bodyContent(TopkBody),
        querystring: TopkQuery,
        response: { 200: TopkReply, ...errorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query as Static<Schemas['TopkQuery']>;
      let queries: Matrix;
      let base: Matrix | undefined;
      let k: number | undefined = q.k;
      let metric: Metric | undefined = q.metric;
      let excludeSelf = q.excludeSelf ?? false;
      requireBody(request.body);
      if (isBinaryBody(request.body)) {
        queries = matrixFromBinary(request.body).matrix;
      } else {
        const body = request.body as Static<Schemas['TopkBody']>;
        queries = matrixFromJson(body.queries, 'queries');
        base = body.base ? matrixFromJson(body.base, 'base') : undefined;
        k = body.k;
        metric = body.metric ?? metric;
        excludeSelf = body.excludeSelf ?? excludeSelf;
      }
      if (k === undefined) throw new QuiverError('INVALID_ARGUMENT', 'k is required (in the body, or ?k= with a binary body)');
      checkK(k, 'k', ctx.limits);
      checkMatrixLimits(queries, 'queries', ctx.limits);
      if (base) checkMatrixLimits(base, 'base', ctx.limits);
      const r = await compute(ctx, reply, (signal) => ctx.engine.topK(queries, base, { k: k!, metric, excludeSelf, signal }));
      if (acceptedBinary(request.headers.accept) === 'arrow') {
        const query = new Int32Array(r.rows * r.k);
        const rank = new Int32Array(r.rows * r.k);
        for (let i = 0; i < r.rows * r.k; i++) {
          query[i] = Math.floor(i / r.k);
          rank[i] = (i % r.k) + 1;
        }
        return send(reply, encodeColumns({ query, rank, index: r.indices, score: r.scores }));
      }
      const indices: number[][] = [];
      const scores: number[][] = [];
      for (let i = 0; i < r.rows; i++) {
        indices.push(Array.from(r.indices.subarray(i * r.k, (i + 1) * r.k)));
        scores.push(Array.from(r.scores.subarray(i * r.k, (i + 1) * r.k)));
      }
      return { k: r.k, requestedK: r.requestedK, indices, scores };
    },
  );
}
