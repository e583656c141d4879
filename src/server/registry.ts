/**
 * Fitted models of the service, by id, persisted in `<dataDir>/models/<id>.json` (+ `.bin`) with atomic
 * writes so they survive a restart. Ids are generated here and validated on every request, so no id can
 * name a path outside the data directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';

const ID = /^[a-z]{2,5}_[0-9a-f]{16}$/;

function checkId(id: string, what: string, prefix: string): string {
  if (!ID.test(id)) {
    throw new QuiverError('NOT_FOUND', `no ${what} "${id.slice(0, 64)}" (ids look like "${prefix}_0123456789abcdef")`, { id: id.slice(0, 64) });
  }
  return id;
}

export interface Stored<M> {
  id: string;
  model: M;
  createdAt: string;
}

export interface Codec<M> {
  save(model: M, path: string): Promise<void>;
  load(path: string, engine: Engine): Promise<M>;
}

export class Registry<M> {
  readonly #items = new Map<string, Stored<M>>();
  readonly #dir: string;

  constructor(
    dataDir: string,
    private readonly folder: string,
    private readonly prefix: string,
    private readonly what: string,
    private readonly codec: Codec<M>,
  ) {
    this.#dir = join(dataDir, folder);
  }

  /** Loads every saved model; a file that fails to load is reported and skipped, never fatal. */
  async open(engine: Engine, warn: (msg: string) => void = () => undefined): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const names = (await readdir(this.#dir)).filter((n) => n.endsWith('.json') && ID.test(n.slice(0, -5))).sort();
    for (const name of names) {
      const id = name.slice(0, -5);
      try {
        const path = join(this.#dir, name);
        const model = await this.codec.load(path, engine);
        this.#items.set(id, { id, model, createdAt: (await stat(path)).mtime.toISOString() });
      } catch (err) {
        warn(`skipping ${this.folder}/${name}: ${QuiverError.from(err).message}`);
      }
    }
  }

  get size(): number {
    return this.#items.size;
  }

  list(): Stored<M>[] {
    return [...this.#items.values()];
  }

  get(id: string): Stored<M> {
    const s = this.#items.get(checkId(id, this.what, this.prefix));
    if (!s) throw new QuiverError('NOT_FOUND', `no ${this.what} "${id}"; list them with GET /v1/${this.folder}`, { id });
    return s;
  }

  async add(model: M): Promise<Stored<M>> {
    const id = `${this.prefix}_${randomBytes(8).toString('hex')}`;
    await this.codec.save(model, join(this.#dir, `${id}.json`));
    const s = { id, model, createdAt: new Date().toISOString() };
    this.#items.set(id, s);
    return s;
  }

  async delete(id: string): Promise<void> {
    this.get(id);
    this.#items.delete(id);
    await rm(join(this.#dir, `${id}.json`), { force: true });
    await rm(join(this.#dir, `${id}.bin`), { force: true });
  }
}
