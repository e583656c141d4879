/**
 * The lower layers word some hints for the CLI (`--memory-budget`, `--user-col`, ...). An HTTP caller cannot
 * pass a flag, so before an error leaves the server each hint is said in the HTTP caller's terms: the body
 * field that does the same, or, where the API has no such knob, the fix that is open to the caller.
 */
import { QuiverError } from '../errors.js';

/** Whole hints with an HTTP equivalent, most specific first. */
const REWRITES: [RegExp, string][] = [
  [/raise the budget \(--memory-budget\), filter the catalogue, or use itemknn/, 'send fewer distinct items (filter the interactions, or a smaller synthetic.items), or use "algo": "itemknn"'],
  [
    /use --format movielens for MovieLens files, or --format csv with --delimiter and --user-col\/--item-col for other delimited files/,
    'the file must be MovieLens u.data, ratings.dat or ratings.csv, or a delimited file whose header names the user and item columns (user/userId, item/itemId/movieId); or send the interactions in the body',
  ],
  [/ have none: use --format movielens\)/, ' have none)'],
  [/name it with --rating-col, or /, 'add one to the file, or '],
  [/--min-rating/g, 'minRating'],
  [/\(--implicit\)/g, '("feedback": "binary")'],
  [/--synthetic/g, 'synthetic'],
  [/, or choose --duplicates sum or last/, ', or send "feedback": "counts" to add repeats'],
];

/** A clause that still names a flag after the rewrites: the HTTP API has no such knob, so the clause goes. */
const FLAG_CLAUSE = /(?:;|,| —) [^;]*?--[a-z][a-z-]*[^;]*/g;
const FLAG = /(^|[\s("'/])--[a-z][a-z-]*/;

export function httpHint(e: QuiverError): QuiverError {
  if (!FLAG.test(e.message)) return e;
  let message = e.message;
  for (const [from, to] of REWRITES) message = message.replace(from, to);
  if (FLAG.test(message)) message = `${message.replace(FLAG_CLAUSE, '')}; see /docs for the request fields`;
  const out = new QuiverError(e.code, message, e.details);
  out.stack = e.stack;
  return out;
}
