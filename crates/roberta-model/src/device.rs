//! Choosing the compute device: the CPU unless a GPU is asked for.
//!
//! burn 0.22's own `Device::default()` prefers a GPU whenever a GPU backend is compiled in, so
//! turning on this crate's `wgpu` feature would silently move every default-device computation
//! onto whatever adapter wgpu finds, a software Vulkan driver included. bannerlm code uses
//! [`default_device`] instead: the CPU backend, unless the user names another one in the
//! `BANNERLM_DEVICE` environment variable ([`DEVICE_ENV`]) or asks for it in code with
//! [`Backend::device`].
//!
//! ```
//! use roberta_model::{Backend, default_device};
//!
//! // With the default features and BANNERLM_DEVICE unset: burn-flex on the CPU.
//! let device = default_device()?;
//! # let _ = device;
//! // "cpu" names the preferred CPU backend compiled in.
//! let cpu: Backend = "cpu".parse()?;
//! assert!(cpu.is_cpu());
//! assert!(cpu.device().is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::error::{Error, Result};

/// Environment variable naming the backend [`default_device`] returns: `cpu`, `flex`,
/// `ndarray` or `wgpu` (case-insensitive). Unset or empty means the CPU.
pub const DEVICE_ENV: &str = "BANNERLM_DEVICE";

/// A burn backend this crate can run on; which ones exist in a build is decided by cargo
/// features ([`Backend::is_compiled`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// burn-flex, the pure-Rust CPU backend (feature `flex`, on by default).
    Flex,
    /// burn-ndarray, the older CPU backend (feature `ndarray`).
    NdArray,
    /// A GPU through wgpu: Vulkan, Metal, DX12 (feature `wgpu`).
    Wgpu,
}

impl Backend {
    /// Every backend, compiled in or not, CPU backends first in order of preference.
    pub const ALL: [Backend; 3] = [Backend::Flex, Backend::NdArray, Backend::Wgpu];

    /// The name accepted by [`FromStr`] and [`DEVICE_ENV`].
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::NdArray => "ndarray",
            Backend::Wgpu => "wgpu",
        }
    }

    /// The cargo feature that compiles this backend in.
    #[must_use]
    pub fn feature(self) -> &'static str {
        self.name()
    }

    /// Whether this backend computes on the CPU.
    #[must_use]
    pub fn is_cpu(self) -> bool {
        matches!(self, Backend::Flex | Backend::NdArray)
    }

    /// Whether this build has the backend (its cargo feature is on).
    #[must_use]
    pub fn is_compiled(self) -> bool {
        match self {
            Backend::Flex => cfg!(feature = "flex"),
            Backend::NdArray => cfg!(feature = "ndarray"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// The backends this build has, in [`ALL`](Self::ALL) order.
    #[must_use]
    pub fn compiled() -> Vec<Backend> {
        Self::ALL.into_iter().filter(|b| b.is_compiled()).collect()
    }

    /// The preferred CPU backend of this build: flex, else ndarray; `None` in a GPU-only build.
    #[must_use]
    pub fn cpu() -> Option<Backend> {
        Self::ALL
            .into_iter()
            .find(|b| b.is_cpu() && b.is_compiled())
    }

    /// A device of this backend. CPU devices always open; the wgpu device is initialised on
    /// the first call (adapter chosen by wgpu, overridable with `CUBECL_WGPU_DEFAULT_DEVICE`)
    /// and shared by later calls.
    ///
    /// # Errors
    /// [`Error::Device`] when the backend is not compiled in, or when wgpu finds no usable
    /// adapter (no GPU and no software Vulkan driver such as Mesa's lavapipe).
    pub fn device(self) -> Result<Device> {
        if !self.is_compiled() {
            return Err(Error::Device {
                backend: self.name().into(),
                reason: format!("built without the `{}` cargo feature", self.feature()),
            });
        }
        match self {
            #[cfg(feature = "flex")]
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            // burn marks its ndarray backend deprecated; users of this crate still ask for it.
            #[allow(deprecated)]
            Backend::NdArray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => wgpu_device(),
            #[allow(unreachable_patterns)]
            _ => Err(Error::Device {
                backend: self.name().into(),
                reason: "not compiled in".into(),
            }),
        }
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device> {
    use std::sync::OnceLock;
    // burn registers one wgpu runtime per selector: initialise once, hand out clones.
    static WGPU: OnceLock<Result<Device, String>> = OnceLock::new();
    WGPU.get_or_init(|| Device::wgpu_options().init().map_err(|e| e.to_string()))
        .clone()
        .map_err(|reason| Error::Device {
            backend: Backend::Wgpu.name().into(),
            reason,
        })
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = Error;

    /// `flex`, `ndarray`, `wgpu`, or `cpu` for [`Backend::cpu`]; case-insensitive.
    fn from_str(s: &str) -> Result<Self> {
        let name = s.trim().to_ascii_lowercase();
        if name == "cpu" {
            return Backend::cpu().ok_or_else(|| Error::Device {
                backend: "cpu".into(),
                reason: "no CPU backend compiled in (features `flex`, `ndarray`)".into(),
            });
        }
        Backend::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| Error::Device {
                backend: s.escape_debug().to_string(),
                reason: "unknown backend; expected cpu, flex, ndarray or wgpu".into(),
            })
    }
}

/// The backend [`default_device`] uses for the value `requested` of [`DEVICE_ENV`]: the named
/// one, or with `None` (or an empty value) the CPU backend, or wgpu in a GPU-only build.
///
/// # Errors
/// [`Error::Device`] for an unknown name or a backend that is not compiled in.
pub fn choose_backend(requested: Option<&str>) -> Result<Backend> {
    match requested.map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => {
            let backend: Backend = name.parse()?;
            if backend.is_compiled() {
                Ok(backend)
            } else {
                Err(Error::Device {
                    backend: backend.name().into(),
                    reason: format!(
                        "{DEVICE_ENV}={name} but built without the `{}` cargo feature",
                        backend.feature()
                    ),
                })
            }
        }
        None => Backend::cpu()
            .or_else(|| Backend::compiled().into_iter().next())
            .ok_or_else(|| Error::Device {
                backend: "any".into(),
                reason: "no backend compiled in (features `flex`, `ndarray`, `wgpu`)".into(),
            }),
    }
}

/// The device bannerlm computes on: the backend named by [`DEVICE_ENV`] if set, otherwise the
/// CPU (flex, else ndarray) even when the `wgpu` feature is on. Use
/// `default_device()?.autodiff()` for training.
///
/// # Errors
/// [`Error::Device`] for an unknown or uncompiled backend name, or a wgpu device that cannot
/// be opened.
pub fn default_device() -> Result<Device> {
    let requested = std::env::var(DEVICE_ENV).ok();
    choose_backend(requested.as_deref())?.device()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn unset_means_cpu_whatever_the_features() {
        let chosen = choose_backend(None).unwrap();
        if Backend::cpu().is_some() {
            assert!(chosen.is_cpu(), "{chosen}");
        }
        assert_eq!(choose_backend(Some("  ")).unwrap(), chosen);
    }

    #[test]
    fn names_parse_and_unknown_names_are_errors() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>().unwrap(), b);
            assert_eq!(b.name().to_uppercase().parse::<Backend>().unwrap(), b);
        }
        assert!(matches!(
            "tpu\u{1b}".parse::<Backend>(),
            Err(Error::Device { backend, .. }) if backend == "tpu\\u{1b}"
        ));
        assert!(matches!(
            choose_backend(Some("gpu")),
            Err(Error::Device { .. })
        ));
    }

    #[test]
    fn uncompiled_backends_are_refused() {
        for b in Backend::ALL {
            let chosen = choose_backend(Some(b.name()));
            assert_eq!(chosen.is_ok(), b.is_compiled(), "{b}");
            if !b.is_compiled() {
                assert!(matches!(b.device(), Err(Error::Device { .. })));
            }
        }
    }

    #[test]
    fn cpu_devices_open() {
        for b in Backend::compiled().into_iter().filter(|b| b.is_cpu()) {
            let device = b.device().unwrap();
            let x = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0], &device);
            assert!((x.sum().into_scalar::<f32>() - 3.0).abs() < 1e-6);
        }
    }
}
