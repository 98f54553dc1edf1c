//! Exact (erf) GELU, `x / 2 * (1 + erf(x / sqrt(2)))`: transformers' `"gelu"`.
//!
//! burn's `gelu` is exact too, but burn-flex evaluates it one element at a time on one thread
//! (a scalar `libm::erff` per value): 11-13% of the paper-size forward pass on two cores. For
//! plain inference on burn-flex (an `f32` tensor on the flex device, no autodiff) this module
//! takes the values out of the tensor without a copy, evaluates a rational approximation of
//! `erf` that the compiler vectorises (for the CPU's widest SIMD, chosen at run time by `pulp`),
//! on rayon's threads, and puts them back. Everywhere else
//! (autodiff, wgpu, ndarray, other dtypes) it is burn's `gelu`.
//!
//! The approximation is the one Eigen, XLA and TVM use for `f32`: `erf(x) = x P(x^2) / Q(x^2)`
//! on `[-4, 4]` (clamped outside, where `erf` is +/-1 in `f32`), with `P` of degree 6 and `Q` of
//! degree 4 in `x^2`. Against burn's `libm::erff` path the GELU values differ by at most
//! 2.3e-7 x max(1, |x|) (about two units in the last place; tested below on |x| <= 12), far
//! inside the 1e-4 parity with transformers.

use burn::tensor::Tensor;
use burn::tensor::activation::gelu;

/// Exact GELU of `x`, on the fast path where it applies (see the module docs).
pub(crate) fn gelu_exact<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if on_plain_flex_f32(&x) {
        return gelu_flex(x);
    }
    gelu(x)
}

/// Whether `x` is an `f32` tensor on the flex device without autodiff.
#[cfg(feature = "flex")]
fn on_plain_flex_f32<const D: usize>(x: &Tensor<D>) -> bool {
    use burn::tensor::{DType, Device};
    x.dtype() == DType::F32 && x.device() == Device::flex()
}

/// The fast path, for a tensor that [`on_plain_flex_f32`] accepts.
#[cfg(feature = "flex")]
fn gelu_flex<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    // Zero-copy when the tensor owns its buffer (a fresh op output does), a copy otherwise.
    let mut data = x.into_data();
    match data.as_mut_slice::<f32>() {
        Ok(values) => {
            gelu_in_place(values);
            Tensor::from_data(data, &device)
        }
        // Not reached for an f32 tensor; burn's kernel is the safe answer all the same.
        Err(_) => gelu(Tensor::from_data(data, &device)),
    }
}

/// Values per rayon task: big enough to amortise the hand-off, small enough to balance.
#[cfg(feature = "flex")]
const CHUNK: usize = 16 * 1024;

/// GELU of every value, split across rayon's threads.
#[cfg(feature = "flex")]
pub(crate) fn gelu_in_place(values: &mut [f32]) {
    use rayon::prelude::*;
    if values.len() <= CHUNK {
        gelu_slice(values);
    } else {
        values.par_chunks_mut(CHUNK).for_each(gelu_slice);
    }
}

/// One chunk, compiled for the widest SIMD instruction set this CPU has (pulp picks it at run
/// time: AVX-512, AVX2+FMA, ... down to the baseline); the branch-free body vectorises.
#[cfg(feature = "flex")]
fn gelu_slice(values: &mut [f32]) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            for v in values {
                *v = gelu_f32(*v);
            }
        },
    );
}

// `always`: it must be inlined into `gelu_slice`'s closure to be compiled with that closure's
// SIMD target features.
#[cfg(feature = "flex")]
#[allow(clippy::inline_always)]
#[inline(always)]
fn gelu_f32(x: f32) -> f32 {
    0.5 * x * (1.0 + erf_f32(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `erf(x)` as `x P(x^2) / Q(x^2)` on `[-4, 4]` (Eigen's `f32` coefficients). NaN stays NaN.
#[cfg(feature = "flex")]
#[allow(clippy::inline_always)]
#[inline(always)]
fn erf_f32(x: f32) -> f32 {
    const ALPHA: [f32; 7] = [
        -2.726_142_3e-10,
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_6e-3,
        -1.609_603_3e-2,
    ];
    const BETA: [f32; 5] = [
        -1.456_607_2e-5,
        -2.133_740_6e-4,
        -1.682_827e-3,
        -7.373_329e-3,
        -1.426_474e-2,
    ];
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    // Plain multiply-add (not `mul_add`, which is a libm call without FMA in the baseline ISA).
    let mut p = ALPHA[0];
    for a in &ALPHA[1..] {
        p = p * x2 + a;
    }
    let mut q = BETA[0];
    for b in &BETA[1..] {
        q = q * x2 + b;
    }
    x * p / q
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// `[-12, 12]` in steps of 1/512, both signs of tiny values, the clamp edge, a large value.
    fn grid() -> Vec<f32> {
        let mut xs: Vec<f32> = (-12 * 512..=12 * 512).map(|i| i as f32 / 512.0).collect();
        xs.extend([
            1e-30, -1e-30, 1e-7, -1e-7, 5.656_854, 5.656_855, -5.656_855, 100.0,
        ]);
        xs
    }

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().expect("f32 tensor")
    }

    /// The largest `|a - b| / max(1, |x|)` and the `x` where it occurs.
    fn worst(a: &[f32], b: &[f32], xs: &[f32]) -> (f32, f32) {
        a.iter()
            .zip(b)
            .zip(xs)
            .map(|((a, b), x)| ((a - b).abs() / x.abs().max(1.0), *x))
            .fold((0.0, 0.0), |w, d| if d.0 > w.0 { d } else { w })
    }

    #[test]
    fn matches_burns_libm_gelu() {
        let xs = grid();
        let mut fast = xs.clone();
        gelu_in_place(&mut fast);
        // burn's own exact GELU (libm erff, one value at a time) is the reference.
        let reference = values(gelu(Tensor::<1>::from_data(
            TensorData::new(xs.clone(), [xs.len()]),
            &Device::flex(),
        )));
        let (err, at) = worst(&fast, &reference, &xs);
        assert!(
            err < 5e-7,
            "|fast - libm| / max(1, |x|) = {err} at x = {at}"
        );
    }

    #[test]
    fn specials() {
        let mut v = [f32::NAN, f32::INFINITY, 0.0, -0.0];
        gelu_in_place(&mut v);
        assert!(v[0].is_nan());
        assert!(v[1].is_infinite() && v[1].is_sign_positive());
        // GELU(+/-0) is a zero (of either sign).
        assert_eq!(v[2].abs().to_bits(), 0);
        assert_eq!(v[3].abs().to_bits(), 0);
    }

    /// The fast path (plain flex) and burn's path (autodiff on flex) give the same tensor.
    #[test]
    fn both_paths_agree() {
        let xs = grid();
        let data = || TensorData::new(xs.clone(), [xs.len()]);
        let fast = values(gelu_exact(Tensor::<1>::from_data(data(), &Device::flex())));
        let tracked = Device::flex().autodiff();
        let slow = values(gelu_exact(Tensor::<1>::from_data(data(), &tracked)));
        let (err, at) = worst(&fast, &slow, &xs);
        assert!(err < 1e-6, "fast vs autodiff path: {err} at x = {at}");
    }
}
