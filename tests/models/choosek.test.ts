// Choosing k: the elbow rule (farthest point from the chord, both axes scaled) and the best silhouette,
// against values worked out here; the CLI's --k A..B and the HTTP route are in tests/cli and tests/server.
import { describe, expect, it } from 'vitest';
import { pickK } from '../../src/index.js';

describe('pickK', () => {
  it('elbow: the point farthest from the line through the first and last points, axes scaled to [0, 1]', () => {
    // Scaled points: (0,1), (1/3, 0.3), (2/3, 0.1), (1, 0) → chord x + y = 1; distances |x + y − 1|/√2:
    // k=3: |1/3 + 0.3 − 1| = 0.3667, k=4: |2/3 + 0.1 − 1| = 0.2333 → elbow 3 (oracle: worked by hand).
    const rows = [
      { k: 2, inertia: 100, silhouette: 0.4, nIter: 1 },
      { k: 3, inertia: 30, silhouette: 0.6, nIter: 1 },
      { k: 4, inertia: 10, silhouette: 0.6, nIter: 1 },
      { k: 5, inertia: 0, silhouette: 0.5, nIter: 1 },
    ];
    const pick = pickK(rows);
    expect(pick.elbow).toBe(3);
    // Tie at 0.6: the smaller k.
    expect(pick.bestSilhouette).toBe(3);
    expect(pickK(rows.slice(0, 2)).elbow).toBeNull();
    expect(pickK([...rows].reverse()).elbow).toBe(3);
  });
});
