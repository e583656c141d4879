//! Tests of the f32-accumulation Gram mode against an f64 oracle written here, and of its levels
//! against each other.
use super::*;

struct Case {
    x: Vec<f32>,
    w: Option<Vec<f64>>,
    c: Option<Vec<f64>>,
    v: Vec<f64>,
}

fn case(rows: usize, cols: usize, weighted: bool, negative: bool, centred: bool) -> Case {
    let x = (0..rows * cols).map(|i| ((i * 37) % 19) as f32 * 0.25 - 2.0 + (i % 7) as f32 * 1e-3).collect();
    let w = weighted.then(|| (0..rows).map(|i| if negative && i == rows / 2 { -1.5 } else { 0.5 + (i % 3) as f64 }).collect());
    // Centres that are f32 values, as the fits pass them.
    let c = centred.then(|| (0..cols).map(|j| (j as f32 * 0.1 - 0.3) as f64).collect());
    let v = (0..rows).map(|i| (i % 5) as f64 - 2.0).collect();
    Case { x, w, c, v }
}

/// (g upper, xty, sums) in f64 from the definition, and the same sums over |terms| for the error bound.
#[allow(clippy::type_complexity)]
fn oracle(k: &Case, rows: usize, d: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut g, mut ga) = (vec![0.0; d * d], vec![0.0; d * d]);
    let (mut t, mut s) = (vec![0.0; d], vec![0.0; d]);
    for i in 0..rows {
        let wi = k.w.as_ref().map_or(1.0, |w| w[i]);
        let r: Vec<f64> = (0..d).map(|j| k.x[i * d + j] as f64 - k.c.as_ref().map_or(0.0, |c| c[j])).collect();
        for a in 0..d {
            for b in a..d {
                g[a * d + b] += wi * r[a] * r[b];
                ga[a * d + b] += (wi * r[a] * r[b]).abs();
            }
            t[a] += k.v[i] * r[a];
            s[a] += wi * r[a];
        }
    }
    (g, ga, t, s)
}

fn run(f: unsafe fn(GramArgs<'_>), k: &Case, rows: usize, d: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut g, mut t, mut s) = (vec![0.5; d * d], vec![0.25; d], vec![-0.75; d]);
    // SAFETY: the callers pass levels this CPU runs.
    unsafe {
        f(GramArgs {
            x: &k.x,
            rows,
            cols: d,
            w: k.w.as_deref(),
            center: k.c.as_deref(),
            v: Some(&k.v),
            g: &mut g,
            xty: Some(&mut t),
            sums: Some(&mut s),
        })
    };
    (g, t, s)
}

/// A level's name and entry point.
type Level = (&'static str, unsafe fn(GramArgs<'_>));

fn levels() -> Vec<Level> {
    let mut l: Vec<Level> = vec![("scalar", gram_f32acc_scalar as unsafe fn(GramArgs<'_>))];
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        l.push(("avx2", gram_f32acc_avx2));
    }
    if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq") && std::is_x86_feature_detected!("avx512bw") && std::is_x86_feature_detected!("avx512vl") {
        l.push(("avx512", gram_f32acc_avx512));
    }
    l
}

#[test]
fn every_level_matches_the_f64_oracle_within_f32_block_sums() {
    for &d in &[1usize, 3, 5, 8, 15, 16, 17, 31, 33, 64, 65, 100, 128] {
        for &rows in &[1usize, 7, 63, 64, 65, 200] {
            for (weighted, negative, centred) in [(false, false, false), (true, false, true), (true, true, true), (false, false, true)] {
                let k = case(rows, d, weighted, negative, centred);
                let (g0, ga, t0, s0) = oracle(&k, rows, d);
                for (name, f) in levels() {
                    let (g, t, s) = run(f, &k, rows, d);
                    for a in 0..d {
                        for b in 0..d {
                            let got = g[a * d + b];
                            if b < a {
                                assert_eq!(got, 0.5, "{name}: lower triangle written at ({a},{b}) d={d}");
                                continue;
                            }
                            // One f32 rounding of x − c, of √w, of each product, and BLOCK f32 additions.
                            let tol = 1e-5 * ga[a * d + b] + 1e-9;
                            let want = 0.5 + g0[a * d + b];
                            assert!((got - want).abs() <= tol, "{name}: g[{a},{b}] {got} vs {want} d={d} rows={rows} w={weighted} neg={negative}");
                        }
                        assert!((t[a] - 0.25 - t0[a]).abs() <= 1e-5 * rows as f64 * 4.0, "{name}: xty[{a}] d={d} rows={rows}");
                        assert!((s[a] + 0.75 - s0[a]).abs() <= 1e-5 * rows as f64 * 8.0, "{name}: sums[{a}] d={d} rows={rows}");
                    }
                }
            }
        }
    }
}

#[test]
fn simd_levels_agree_with_the_scalar_twin_closely() {
    let (rows, d) = (1000, 64);
    let k = case(rows, d, true, false, true);
    let (_, ga, _, _) = oracle(&k, rows, d);
    let (g1, t1, s1) = run(gram_f32acc_scalar, &k, rows, d);
    for (name, f) in levels().into_iter().skip(1) {
        let (g2, t2, s2) = run(f, &k, rows, d);
        // The levels differ by an FMA's rounding per product: bounded by the sums of |terms|.
        for i in 0..d * d {
            assert!((g1[i] - g2[i]).abs() <= 2e-7 * ga[i] + 1e-12, "{name}: g[{i}] {} vs {}", g1[i], g2[i]);
        }
        for j in 0..d {
            assert!((t1[j] - t2[j]).abs() <= 1e-7 * rows as f64 * 4.0);
            assert!((s1[j] - s2[j]).abs() <= 1e-7 * rows as f64 * 8.0);
        }
    }
}

#[test]
fn wider_than_the_mode_takes_the_f64_kernel() {
    let (rows, d) = (70, MAX_COLS + 3);
    let k = case(rows, d, true, false, true);
    let (g0, ga, _, _) = oracle(&k, rows, d);
    for (name, f) in levels().into_iter().skip(1) {
        let (g, _, _) = run(f, &k, rows, d);
        for a in 0..d {
            for b in a..d {
                assert!((g[a * d + b] - 0.5 - g0[a * d + b]).abs() <= 1e-12 * ga[a * d + b].max(1.0), "{name}: g[{a},{b}]");
            }
        }
    }
}

#[test]
fn a_non_finite_value_reaches_the_diagonal() {
    // Weighted (packed), unweighted centred (packed; the SIMD levels' diagonal tiles sum Xᵀv and Σ x) and
    // unweighted uncentred at a width of 32 (read in place; the same tiles sum them).
    for (d, weighted, centred) in [(20, true, true), (20, false, true), (32, false, false)] {
        for (name, f) in levels() {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut k = case(130, d, weighted, false, centred);
                k.x[97 * d + 11] = bad;
                let (g, t, s) = run(f, &k, 130, d);
                assert!(!g[11 * d + 11].is_finite(), "{name} d={d}: {bad} lost");
                assert!(!s[11].is_finite(), "{name} d={d}: {bad} lost from sums");
                // v_97 = (97 % 5) − 2 = 0: 0·±Inf is NaN, so xty[11] carries it too.
                assert!(!t[11].is_finite(), "{name} d={d}: {bad} lost from xty");
            }
        }
    }
}

#[test]
fn g_has_the_same_bits_whether_or_not_xty_and_sums_are_asked_for() {
    let (rows, d) = (300, 37);
    for weighted in [false, true] {
        let k = case(rows, d, weighted, false, true);
        for (name, f) in levels() {
            let (g_all, _, _) = run(f, &k, rows, d);
            let mut g = vec![0.5; d * d];
            // SAFETY: the levels this CPU runs.
            unsafe { f(GramArgs { x: &k.x, rows, cols: d, w: k.w.as_deref(), center: k.c.as_deref(), v: None, g: &mut g, xty: None, sums: None }) };
            assert_eq!(g, g_all, "{name} weighted={weighted}");
            let mut s = vec![-0.75; d];
            let mut g2 = vec![0.5; d * d];
            unsafe { f(GramArgs { x: &k.x, rows, cols: d, w: k.w.as_deref(), center: k.c.as_deref(), v: None, g: &mut g2, xty: None, sums: Some(&mut s) }) };
            let (_, _, s_all) = run(f, &k, rows, d);
            assert_eq!((g2, s), (g_all, s_all), "{name} weighted={weighted}, sums only");
        }
    }
}

#[test]
fn reading_x_in_place_gives_the_bits_of_the_packed_path() {
    // Unit weights take the packing path (√1·x = x, 1·x = x exactly), no weights the in-place one where the
    // width allows: g, xty and sums must agree to the bit.
    for &d in &[16usize, 48, 64, 96, 128] {
        let rows = 300;
        let mut k = case(rows, d, false, false, false);
        // v with inexact products, so a fused product-add would show.
        k.v = (0..rows).map(|i| 0.1 + i as f64 * 0.37).collect();
        let plain = levels().into_iter().map(|(name, f)| (name, run(f, &k, rows, d))).collect::<Vec<_>>();
        k.w = Some(vec![1.0; rows]);
        for ((name, f), (_, want)) in levels().into_iter().zip(&plain) {
            assert_eq!(&run(f, &k, rows, d), want, "{name} d={d}");
        }
    }
}
