//! 3-D linear convolution by FFT (`rustfft`), zero-padded so nothing wraps around.
//!
//! [`convolve_same`] returns, for every voxel i of the image, Σ_j image\[j\]·kernel\[i − j\]
//! with the kernel's offsets in −h..=h per axis: the result has the image's size. The padded
//! size per axis is the smallest 2ᵃ3ᵇ5ᶜ ≥ n + h (enough for a kernel of half-width h: a
//! circular convolution of that length equals the linear one on the image's voxels). Lines
//! are transformed in parallel (rayon), each by the same plan, so the result does not
//! depend on the thread count.

use std::sync::Arc;

use rayon::prelude::*;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use crate::{invalid, Result};

/// The smallest 2ᵃ3ᵇ5ᶜ ≥ `n`.
pub fn fast_len(n: usize) -> usize {
    let mut m = n.max(1);
    loop {
        let mut k = m;
        for p in [2, 3, 5] {
            while k.is_multiple_of(p) {
                k /= p;
            }
        }
        if k == 1 {
            return m;
        }
        m += 1;
    }
}

/// A complex 3-D array (x fastest) with its FFT plans.
struct Grid3 {
    dims: [usize; 3],
    data: Vec<Complex<f64>>,
}

fn plans(dims: [usize; 3], inverse: bool) -> [Arc<dyn Fft<f64>>; 3] {
    let mut p = FftPlanner::new();
    let mk = |p: &mut FftPlanner<f64>, n| {
        if inverse {
            p.plan_fft_inverse(n)
        } else {
            p.plan_fft_forward(n)
        }
    };
    [
        mk(&mut p, dims[0]),
        mk(&mut p, dims[1]),
        mk(&mut p, dims[2]),
    ]
}

impl Grid3 {
    /// Transform along all three axes (forward or inverse, unnormalised).
    fn fft(&mut self, inverse: bool) {
        let [nx, ny, nz] = self.dims;
        let [px, py, pz] = plans(self.dims, inverse);
        // x: contiguous rows
        self.data.par_chunks_mut(nx).for_each(|row| px.process(row));
        // y: inside each z plane
        self.data.par_chunks_mut(nx * ny).for_each(|plane| {
            let mut line = vec![Complex::default(); ny];
            for x in 0..nx {
                for y in 0..ny {
                    line[y] = plane[y * nx + x];
                }
                py.process(&mut line);
                for y in 0..ny {
                    plane[y * nx + x] = line[y];
                }
            }
        });
        // z: through a transposed copy (lines of length nz, contiguous)
        let src = &self.data;
        let mut t = vec![Complex::default(); src.len()];
        t.par_chunks_mut(nz).enumerate().for_each(|(xy, line)| {
            for z in 0..nz {
                line[z] = src[z * nx * ny + xy];
            }
            pz.process(line);
        });
        self.data
            .par_chunks_mut(nx * ny)
            .enumerate()
            .for_each(|(z, plane)| {
                for (xy, v) in plane.iter_mut().enumerate() {
                    *v = t[xy * nz + z];
                }
            });
    }
}

/// Linear convolution of `image` (dims `n` = \[nx, ny, nz\], x fastest) with `kernel` (a cube
/// of side 2h+1, x fastest, centre at (h, h, h)); output of the image's size.
pub fn convolve_same(image: &[f64], n: [usize; 3], kernel: &[f64], h: usize) -> Result<Vec<f64>> {
    let side = 2 * h + 1;
    if image.len() != n[0] * n[1] * n[2] || kernel.len() != side * side * side {
        return Err(invalid(format!(
            "convolution: image of {} values for {}×{}×{}, kernel of {} values for side {side}",
            image.len(),
            n[0],
            n[1],
            n[2],
            kernel.len()
        )));
    }
    let p = [fast_len(n[0] + h), fast_len(n[1] + h), fast_len(n[2] + h)];
    let len = p[0] * p[1] * p[2];
    let mut a = Grid3 {
        dims: p,
        data: vec![Complex::default(); len],
    };
    for z in 0..n[2] {
        for y in 0..n[1] {
            let src = &image[(z * n[1] + y) * n[0]..][..n[0]];
            let dst = &mut a.data[(z * p[1] + y) * p[0]..][..n[0]];
            for (d, &s) in dst.iter_mut().zip(src) {
                d.re = s;
            }
        }
    }
    let mut k = Grid3 {
        dims: p,
        data: vec![Complex::default(); len],
    };
    let wrap = |d: isize, m: usize| d.rem_euclid(m as isize) as usize;
    for dz in 0..side {
        for dy in 0..side {
            for dx in 0..side {
                let v = kernel[(dz * side + dy) * side + dx];
                let (x, y, z) = (
                    wrap(dx as isize - h as isize, p[0]),
                    wrap(dy as isize - h as isize, p[1]),
                    wrap(dz as isize - h as isize, p[2]),
                );
                k.data[(z * p[1] + y) * p[0] + x].re = v;
            }
        }
    }
    a.fft(false);
    k.fft(false);
    a.data
        .par_iter_mut()
        .zip(k.data.par_iter())
        .for_each(|(x, y)| *x *= *y);
    drop(k);
    a.fft(true);
    let norm = 1.0 / len as f64;
    let mut out = vec![0.0; image.len()];
    for z in 0..n[2] {
        for y in 0..n[1] {
            let src = &a.data[(z * p[1] + y) * p[0]..][..n[0]];
            let dst = &mut out[(z * n[1] + y) * n[0]..][..n[0]];
            for (d, s) in dst.iter_mut().zip(src) {
                *d = s.re * norm;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(image: &[f64], n: [usize; 3], kernel: &[f64], h: usize) -> Vec<f64> {
        let side = 2 * h + 1;
        let mut out = vec![0.0; image.len()];
        for z in 0..n[2] {
            for y in 0..n[1] {
                for x in 0..n[0] {
                    let mut s = 0.0;
                    for dz in -(h as isize)..=h as isize {
                        for dy in -(h as isize)..=h as isize {
                            for dx in -(h as isize)..=h as isize {
                                let (sx, sy, sz) =
                                    (x as isize - dx, y as isize - dy, z as isize - dz);
                                if sx < 0
                                    || sy < 0
                                    || sz < 0
                                    || sx >= n[0] as isize
                                    || sy >= n[1] as isize
                                    || sz >= n[2] as isize
                                {
                                    continue;
                                }
                                let kv = kernel[(((dz + h as isize) as usize * side)
                                    + (dy + h as isize) as usize)
                                    * side
                                    + (dx + h as isize) as usize];
                                s += kv
                                    * image
                                        [(sz as usize * n[1] + sy as usize) * n[0] + sx as usize];
                            }
                        }
                    }
                    out[(z * n[1] + y) * n[0] + x] = s;
                }
            }
        }
        out
    }

    #[test]
    fn fft_convolution_equals_the_direct_sum() {
        let n = [7, 5, 6];
        let h = 2;
        let side = 2 * h + 1;
        // an asymmetric kernel and image: any axis or sign mistake shows
        let kernel: Vec<f64> = (0..side * side * side)
            .map(|i| ((i * 37 % 11) as f64) + 0.1 * i as f64)
            .collect();
        let image: Vec<f64> = (0..n[0] * n[1] * n[2])
            .map(|i| ((i * 13 % 7) as f64) - 2.0)
            .collect();
        let fast = convolve_same(&image, n, &kernel, h).unwrap();
        let slow = direct(&image, n, &kernel, h);
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }

    #[test]
    fn fast_lengths() {
        assert_eq!(fast_len(143), 144);
        assert_eq!(fast_len(7), 8);
        assert_eq!(fast_len(1), 1);
    }
}
