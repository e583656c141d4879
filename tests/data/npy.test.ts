import { describe, expect, it } from 'vitest';
import { encodeNpy, npyToMatrix, parseNpy } from '../../src/data/npy.js';
import { QuiverError } from '../../src/errors.js';

/** Builds .npy bytes by hand (header per the NumPy format 1.0 spec) to test the reader independently of the writer. */
function handMade(descr: string, shape: string, body: Uint8Array, fortran = 'False', version = 1): Uint8Array {
  const header = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`.padEnd(version === 1 ? 117 : 115, ' ') + '\n';
  const pre = version === 1 ? 10 : 12;
  const out = new Uint8Array(pre + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(body, pre + header.length);
  return out;
}

describe('.npy', () => {
  it('reads float32, float64 (as float32) and int32, versions 1 and 2', () => {
    const f32 = new Float32Array([1.5, -2, 3, 4, 5, 6]);
    const m = npyToMatrix(handMade('<f4', '(2, 3)', new Uint8Array(f32.buffer)));
    expect(m).toMatchObject({ rows: 2, cols: 3 });
    expect(Array.from(m.data)).toEqual([1.5, -2, 3, 4, 5, 6]);
    const f64 = new Float64Array([0.1, 2]);
    const m2 = npyToMatrix(handMade('<f8', '(2,)', new Uint8Array(f64.buffer), 'False', 2));
    expect(m2).toMatchObject({ rows: 2, cols: 1 });
    expect(m2.data[0]).toBe(Math.fround(0.1));
    const i32 = parseNpy(handMade('<i4', '(3,)', new Uint8Array(new Int32Array([7, -1, 9]).buffer)));
    expect(i32.dtype).toBe('i32');
    expect(Array.from(i32.data)).toEqual([7, -1, 9]);
  });

  it('round-trips through the writer with a 64-byte aligned header', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const bytes = encodeNpy(data, [4, 2]);
    expect((bytes.length - data.byteLength) % 64).toBe(0);
    const back = npyToMatrix(bytes);
    expect(back).toMatchObject({ rows: 4, cols: 2 });
    expect(Array.from(back.data)).toEqual(Array.from(data));
    const ints = parseNpy(encodeNpy(new Int32Array([3, 2, 1]), [3]));
    expect(Array.from(ints.data)).toEqual([3, 2, 1]);
  });

  it('refuses what it cannot read, saying what to do', () => {
    const body = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const cases: [Uint8Array, RegExp][] = [
      [new TextEncoder().encode('a,b\n1,2\n'), /not a \.npy file/],
      [handMade('<f4', '(2, 2)', body, 'True'), /Fortran-order.*np\.ascontiguousarray/],
      [handMade('<i8', '(2, 2)', new Uint8Array(32)), /dtype <i8 is not supported/],
      [handMade('>f4', '(2, 2)', body), /dtype >f4 is not supported/],
      [handMade('<f4', '(2, 2)', body.subarray(0, 12)), /truncated \.npy data/],
      [handMade('<f4', '(2, 2)', body).subarray(0, 40), /truncated \.npy header/],
      [handMade('<f4', '(1, 2, 2)', body), /3 dimensions/],
    ];
    for (const [bytes, msg] of cases) {
      try {
        parseNpy(bytes, 'x.npy');
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(QuiverError);
        expect((e as QuiverError).code).toBe('INVALID_ARGUMENT');
        expect((e as QuiverError).message).toMatch(msg);
        expect((e as QuiverError).message).toMatch(/^x\.npy: /);
      }
    }
  });
});
