// Region recycling of the SharedArrayBuffer backends (native and js share SabRegions): large freed buffers
// come back zeroed (unless the caller asks for unzeroed memory it will overwrite), and a caller's own buffer
// is never handed out again.
import { describe, expect, it } from 'vitest';
import { JsBackend } from '../../src/backends/js.js';

describe('SabRegions recycling', () => {
  it('a freed large region is reused, zeroed; unzeroed only on request', () => {
    const b = new JsBackend();
    const n = (2 << 20) / 4; // 2 MiB of f32
    const r1 = b.alloc('f32', n);
    b.view(r1).fill(7);
    b.free(r1);
    const r2 = b.alloc('f32', n - 3); // rounds to the same size class
    expect(r2.buffer).toBe(r1.buffer);
    expect(b.view(r2).every((v) => v === 0)).toBe(true);
    b.view(r2).fill(5);
    b.free(r2);
    const r3 = b.alloc('f32', n, false);
    expect(r3.buffer).toBe(r1.buffer);
    expect(b.view(r3)[0]).toBe(5); // not zeroed: the caller overwrites it all
    // A second live request of that size gets a fresh buffer, not the one in use.
    const r4 = b.alloc('f32', n);
    expect(r4.buffer).not.toBe(r3.buffer);
  });

  it('small regions and foreign buffers are never recycled', () => {
    const b = new JsBackend();
    const small = b.alloc('f64', 4 << 10);
    b.free(small);
    expect(b.alloc('f64', 4 << 10).buffer).not.toBe(small.buffer);
    const foreign = new SharedArrayBuffer(2 << 20);
    b.free({ buffer: foreign, byteOffset: 0, length: (2 << 20) / 4, kind: 'f32' });
    expect(b.alloc('f32', (2 << 20) / 4).buffer).not.toBe(foreign);
  });

  it('the last freed buffer is kept even over the 256 MiB cap, until a later one is freed', () => {
    const b = new JsBackend();
    const big = (300 << 20) / 4; // 300 MiB of f32: pages are only touched if written
    const r1 = b.alloc('f32', big, false);
    b.free(r1);
    const r2 = b.alloc('f32', big, false);
    expect(r2.buffer).toBe(r1.buffer);
    b.free(r2);
    const small = b.alloc('f32', (1 << 20) / 4);
    b.free(small); // now over the cap with two buffers: the older, large one goes
    expect(b.alloc('f32', big, false).buffer).not.toBe(r1.buffer);
    expect(b.alloc('f32', (1 << 20) / 4).buffer).toBe(small.buffer);
  });
});
