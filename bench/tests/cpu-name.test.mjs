// The CPU name every bench report carries: the model name with the vendor family and model, and the core
// design where the family tells it (cloud VMs often show only "AMD EPYC"), from fixed /proc/cpuinfo texts.
import { describe, expect, it } from 'vitest';
import { cpuName } from '../lib/context.mjs';

const info = (vendor, family, model, name, flags) =>
  `processor\t: 0\nvendor_id\t: ${vendor}\ncpu family\t: ${family}\nmodel\t\t: ${model}\nmodel name\t: ${name}\nflags\t\t: ${flags}\n`;

describe('cpuName', () => {
  it('names the AMD core design from the family and, for family 19h, the AVX-512 flag', () => {
    expect(cpuName(info('AuthenticAMD', 26, 2, 'AMD EPYC', 'fpu avx2 fma avx512f'))).toBe('AMD EPYC (family 26, model 2: Zen 5)');
    expect(cpuName(info('AuthenticAMD', 25, 17, 'AMD EPYC', 'fpu avx2 fma avx512f avx512bw'))).toBe('AMD EPYC (family 25, model 17: Zen 4)');
    expect(cpuName(info('AuthenticAMD', 25, 1, 'AMD EPYC 7763 64-Core Processor', 'fpu avx2 fma'))).toBe('AMD EPYC 7763 64-Core Processor (family 25, model 1: Zen 3)');
  });

  it('gives family and model alone where it does not know the design', () => {
    expect(cpuName(info('GenuineIntel', 6, 143, 'Intel(R) Xeon(R) Platinum 8480C', 'fpu avx2 avx512f'))).toBe('Intel(R) Xeon(R) Platinum 8480C (family 6, model 143)');
  });

  it('falls back to the model name when cpuinfo has no family', () => {
    expect(cpuName('model name\t: Some CPU\n')).toBe('Some CPU');
  });
});
