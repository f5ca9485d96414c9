//! Dose by voxel S-value convolution.
//!
//! D(v) = Σ_u Ã(u)·S(v − u) · ρ_kernel/ρ(v): the time-integrated activity Ã \[decays\]
//! convolved with the kernel's dose per decay S \[Gy\] (FFT, [`crate::convolve`]), then the
//! density correction: the energy a voxel receives is taken as in the kernel's medium and
//! divided by the voxel's own mass instead of the kernel voxel's. This is exact for a
//! homogeneous medium of the kernel's composition at any density only if ranges scaled too;
//! they do not: in lung the electrons' longer range spreads energy further than the
//! kernel says, in bone less far, and photons are attenuated as in the kernel's medium. The
//! resulting errors by region are measured in `docs/validation.md` (VSV vs Monte Carlo).

use xfire_phantom::Grid;

use crate::kernels::VsvKernel;
use crate::{invalid, Result};

/// Check that `kernel` fits `grid`: cubic voxels of the kernel's size (within 0.5 %).
pub fn check_kernel_grid(kernel: &VsvKernel, grid: &Grid) -> Result<()> {
    let v = grid.voxel_cm;
    let cubic = (v[1] / v[0] - 1.0).abs() < 5e-3 && (v[2] / v[0] - 1.0).abs() < 5e-3;
    if !cubic || (kernel.voxel_cm / v[0] - 1.0).abs() >= 5e-3 {
        return Err(invalid(format!(
            "the image's voxels are {}×{}×{} mm but kernel {} is for cubic {} mm voxels \
             (within 0.5 %); give a kernel made at the image's voxel size (--kernel FILE) \
             or use --method mc",
            v[0] * 10.0,
            v[1] * 10.0,
            v[2] * 10.0,
            kernel.source,
            kernel.voxel_cm * 10.0
        )));
    }
    Ok(())
}

/// Dose \[Gy\] per voxel from the TIA `tia` \[Bq·s\] on `grid` by `kernel`, with the density
/// correction by `density_g_cm3` per voxel when given (none: the medium is the kernel's).
pub fn vsv_dose(
    tia: &[f64],
    grid: &Grid,
    kernel: &VsvKernel,
    density_g_cm3: Option<&[f32]>,
) -> Result<Vec<f64>> {
    check_kernel_grid(kernel, grid)?;
    let mut dose = crate::convolve::convolve_same(tia, grid.dims(), &kernel.cube(), kernel.half)?;
    if let Some(rho) = density_g_cm3 {
        for (d, &r) in dose.iter_mut().zip(rho) {
            *d *= kernel.density_g_cm3 / r as f64;
        }
    }
    Ok(dose)
}
