//! Minimal `.npy` (NumPy format 1.0) header handling for row-major float32
//! matrices, with a fixed-width row count so the header can be rewritten in
//! place while rows are appended.

use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Error, Result};

const MAGIC: &[u8] = b"\x93NUMPY";
/// Width of the row-count field: any `u64` fits.
const ROWS_WIDTH: usize = 20;

/// Builds a version-1.0 header for `rows x dim` little-endian float32,
/// C order, padded to a multiple of 64 bytes. Its length depends only on `dim`.
pub(crate) fn header(rows: u64, dim: usize) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows:>ROWS_WIDTH$}, {dim}), }}"
    );
    let unpadded = MAGIC.len() + 2 + 2 + dict.len() + 1;
    let total = unpadded.div_ceil(64) * 64;
    let mut h = Vec::with_capacity(total);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&[1, 0]);
    let hlen = (total - MAGIC.len() - 4) as u16;
    h.extend_from_slice(&hlen.to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(total - 1, b' ');
    h.push(b'\n');
    h
}

/// Element type of a `.npy` matrix this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dtype {
    /// Little-endian float32 (`<f4`), the store's own type.
    F32,
    /// Little-endian float64 (`<f8`, NumPy's default), narrowed to float32 when read.
    F64,
}

impl Dtype {
    /// Bytes per element.
    pub(crate) fn size(self) -> u64 {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
        }
    }
}

/// A parsed header: shape, element type and where the data starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub rows: u64,
    pub dim: usize,
    pub dtype: Dtype,
    pub data_offset: u64,
}

impl Header {
    /// Bytes of data the header promises (`rows * dim * element size`), or `None` when that
    /// does not fit in a `u64`.
    pub(crate) fn data_bytes(&self) -> Option<u64> {
        self.rows
            .checked_mul(self.dim as u64)?
            .checked_mul(self.dtype.size())
    }

    /// Checks the promised size against the file's length `len` *before* anything is
    /// allocated from it: the header's shape must fit in memory addresses and the file must
    /// hold at least that many bytes (`exact`: exactly that many).
    pub(crate) fn check_len(&self, len: u64, exact: bool, path: &Path) -> Result<()> {
        let need = self
            .data_bytes()
            .and_then(|b| b.checked_add(self.data_offset))
            .filter(|&n| usize::try_from(n).is_ok())
            .ok_or_else(|| {
                Error::format(
                    path,
                    format!(
                        "shape ({}, {}) is too large to address (file has {len} bytes)",
                        self.rows, self.dim
                    ),
                )
            })?;
        if len < need || (exact && len != need) {
            return Err(Error::format(
                path,
                format!(
                    "file has {len} bytes, its header (shape ({}, {})) promises {need}",
                    self.rows, self.dim
                ),
            ));
        }
        Ok(())
    }
}

/// Longest `.npy` header accepted (NumPy writes a few hundred bytes).
pub(crate) const MAX_HEADER_LEN: usize = 1 << 16;

/// Reads and checks the header of a little-endian float32/float64, C-order, 2-D `.npy`
/// file. Reads at most [`MAX_HEADER_LEN`] + 12 bytes; the shape is only parsed, never used
/// to allocate (callers check it against the file's length with [`Header::check_len`]).
pub(crate) fn read_header(mut r: impl Read, path: &Path) -> Result<Header> {
    let mut pre = [0u8; 10];
    r.read_exact(&mut pre)
        .map_err(|e| Error::format(path, format!("not a .npy file: {e}")))?;
    if &pre[..6] != MAGIC {
        return Err(Error::format(path, "not a .npy file (bad magic)"));
    }
    let (hlen, skip) = match pre[6] {
        1 => (usize::from(u16::from_le_bytes([pre[8], pre[9]])), 10usize),
        2 | 3 => {
            let mut more = [0u8; 2];
            r.read_exact(&mut more)
                .map_err(|e| Error::format(path, format!("truncated .npy header: {e}")))?;
            (
                usize::try_from(u32::from_le_bytes([pre[8], pre[9], more[0], more[1]]))
                    .unwrap_or(usize::MAX),
                12,
            )
        }
        v => return Err(Error::format(path, format!("unsupported .npy version {v}"))),
    };
    if hlen > MAX_HEADER_LEN {
        return Err(Error::format(
            path,
            format!("implausibly long .npy header ({hlen} bytes, at most {MAX_HEADER_LEN})"),
        ));
    }
    let mut dict = vec![0u8; hlen];
    r.read_exact(&mut dict)
        .map_err(|e| Error::format(path, format!("truncated .npy header: {e}")))?;
    let dict = String::from_utf8_lossy(&dict);
    let field = |key: &str| -> Option<&str> {
        let at = dict.find(&format!("'{key}'"))? + key.len() + 2;
        let rest = dict.get(at..)?.trim_start().strip_prefix(':')?.trim_start();
        Some(rest)
    };
    let descr = field("descr").ok_or_else(|| Error::format(path, "header has no 'descr'"))?;
    let dtype = if descr.starts_with("'<f4'") || descr.starts_with("'float32'") {
        Dtype::F32
    } else if descr.starts_with("'<f8'") || descr.starts_with("'float64'") {
        Dtype::F64
    } else {
        let shown: String = descr
            .split(',')
            .next()
            .unwrap_or("")
            .chars()
            .take(40)
            .collect();
        return Err(Error::format(
            path,
            format!("expected little-endian float32 ('<f4') or float64 ('<f8'), found {shown}"),
        ));
    };
    let fortran = field("fortran_order")
        .ok_or_else(|| Error::format(path, "header has no 'fortran_order'"))?;
    if !fortran.starts_with("False") {
        return Err(Error::format(
            path,
            "Fortran-order arrays are not supported",
        ));
    }
    let shape = field("shape").ok_or_else(|| Error::format(path, "header has no 'shape'"))?;
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| Error::format(path, "malformed 'shape'"))?;
    let shown: String = inner.chars().take(80).collect();
    let dims: Vec<u64> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::format(path, format!("malformed 'shape': ({shown})")))?;
    let [rows, dim] = dims[..] else {
        return Err(Error::format(
            path,
            format!("expected a 2-D array, found shape ({shown})"),
        ));
    };
    if dim == 0 {
        return Err(Error::format(
            path,
            "the matrix has no columns (shape (n, 0))",
        ));
    }
    Ok(Header {
        rows,
        dim: usize::try_from(dim).map_err(|_| Error::format(path, "dimension too large"))?,
        dtype,
        data_offset: (skip + hlen) as u64,
    })
}

/// Writes a whole row-major matrix as `.npy` to `w`.
pub(crate) fn write_matrix(
    mut w: impl Write,
    rows: u64,
    dim: usize,
    data: &[f32],
) -> std::io::Result<()> {
    w.write_all(&header(rows, dim))?;
    let mut buf = Vec::with_capacity(data.len().min(1 << 16) * 4);
    for chunk in data.chunks(1 << 16) {
        buf.clear();
        for v in chunk {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_fixed_width() {
        for dim in [1, 64, 256, 12345] {
            let a = header(0, dim);
            let b = header(u64::MAX, dim);
            assert_eq!(a.len(), b.len());
            assert_eq!(a.len() % 64, 0);
            let h = read_header(&a[..], Path::new("x")).expect("parse");
            assert_eq!((h.rows, h.dim, h.data_offset), (0, dim, a.len() as u64));
            assert_eq!(h.dtype, Dtype::F32);
        }
    }

    #[test]
    fn rejects_other_dtypes() {
        let mut h = header(3, 4);
        let pos = h.windows(3).position(|w| w == b"<f4").expect("descr");
        h[pos + 1] = b'i';
        assert!(matches!(
            read_header(&h[..], Path::new("x")),
            Err(Error::Format { .. })
        ));
    }
}
