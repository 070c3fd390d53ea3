//! Input readers shared by the CLI and the area crates: `.npy`, one-column CSV, JSON.
//!
//! Every error names the file and, where it can, the line or byte offset.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};

use npyz::WriterBuilder;
use serde::de::DeserializeOwned;

use crate::errors::{KilnError, Result};

/// The element type an `.npy` file stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyDType {
    /// Little- or big-endian 32-bit float.
    F32,
    /// Little- or big-endian 64-bit float.
    F64,
}

/// An n-dimensional float array read from `.npy`, in row-major (C) order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Dimensions, slowest first.
    pub shape: Vec<usize>,
    /// Values in row-major order, widened to f64.
    pub data: Vec<f64>,
    /// The file's element type.
    pub dtype: NpyDType,
}

impl NpyArray {
    /// The values narrowed to f32.
    pub fn to_f32(&self) -> Vec<f32> {
        self.data.iter().map(|&v| v as f32).collect()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KilnError + '_ {
    move |source| KilnError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn parse_err(path: &Path, location: Option<String>, message: impl Into<String>) -> KilnError {
    KilnError::Parse {
        path: path.to_path_buf(),
        location,
        message: message.into(),
    }
}

/// Reads an f32 or f64 `.npy` file of any rank (C or Fortran order).
pub fn read_npy(path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_err(path))?;
    parse_npy(&bytes, path)
}

/// Parses `.npy` bytes; `path` is only used in error messages.
pub fn parse_npy(bytes: &[u8], path: &Path) -> Result<NpyArray> {
    let npy = npyz::NpyFile::new(bytes).map_err(|e| {
        parse_err(
            path,
            Some("header".into()),
            format!("not a valid .npy file: {e}"),
        )
    })?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let fortran = npy.order() == npyz::Order::Fortran;
    let descr = match npy.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => {
            return Err(parse_err(
                path,
                Some("header".into()),
                format!(
                    "unsupported dtype {}: expected float32 or float64",
                    other.descr()
                ),
            ));
        }
    };
    let to_parse_err = |e: std::io::Error| {
        parse_err(
            path,
            Some("data".into()),
            format!("truncated or corrupt data: {e}"),
        )
    };
    let (dtype, data) = match &descr[1..] {
        "f4" => (
            NpyDType::F32,
            npy.into_vec::<f32>()
                .map_err(to_parse_err)?
                .into_iter()
                .map(f64::from)
                .collect(),
        ),
        "f8" => (NpyDType::F64, npy.into_vec::<f64>().map_err(to_parse_err)?),
        _ => {
            return Err(parse_err(
                path,
                Some("header".into()),
                format!("unsupported dtype '{descr}': expected float32 ('<f4') or float64 ('<f8')"),
            ));
        }
    };
    let data = if fortran && shape.len() > 1 {
        fortran_to_c(&data, &shape)
    } else {
        data
    };
    Ok(NpyArray { shape, data, dtype })
}

fn fortran_to_c<T: Copy>(data: &[T], shape: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(data.len());
    let mut index = vec![0usize; shape.len()];
    for _ in 0..data.len() {
        // Fortran offset: first index varies fastest.
        let mut offset = 0;
        let mut stride = 1;
        for (i, &n) in index.iter().zip(shape) {
            offset += i * stride;
            stride *= n;
        }
        out.push(data[offset]);
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    out
}

/// An n-dimensional integer array read from `.npy` (labels, class maps), row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyIntArray {
    /// Dimensions, slowest first.
    pub shape: Vec<usize>,
    /// Values in row-major order, widened to i64.
    pub data: Vec<i64>,
}

/// Reads a signed or unsigned integer `.npy` file (1 to 8 bytes per value, any rank); a
/// `uint64` value above `i64::MAX` is a parse error.
pub fn read_npy_int(path: impl AsRef<Path>) -> Result<NpyIntArray> {
    let path = path.as_ref();
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_err(path))?;
    parse_npy_int(&bytes, path)
}

/// Parses integer `.npy` bytes; `path` is only used in error messages.
pub fn parse_npy_int(bytes: &[u8], path: &Path) -> Result<NpyIntArray> {
    let header = |m: String| parse_err(path, Some("header".into()), m);
    let npy =
        npyz::NpyFile::new(bytes).map_err(|e| header(format!("not a valid .npy file: {e}")))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let fortran = npy.order() == npyz::Order::Fortran;
    let descr = match npy.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => {
            return Err(header(format!(
                "unsupported dtype {}: expected an integer type",
                other.descr()
            )));
        }
    };
    let data_err = |e: std::io::Error| {
        parse_err(
            path,
            Some("data".into()),
            format!("truncated or corrupt data: {e}"),
        )
    };
    fn widen<T: Into<i64>>(v: Vec<T>) -> Vec<i64> {
        v.into_iter().map(Into::into).collect()
    }
    let data: Vec<i64> = match &descr[1..] {
        "i1" => widen(npy.into_vec::<i8>().map_err(data_err)?),
        "i2" => widen(npy.into_vec::<i16>().map_err(data_err)?),
        "i4" => widen(npy.into_vec::<i32>().map_err(data_err)?),
        "i8" => npy.into_vec::<i64>().map_err(data_err)?,
        "u1" => widen(npy.into_vec::<u8>().map_err(data_err)?),
        "u2" => widen(npy.into_vec::<u16>().map_err(data_err)?),
        "u4" => widen(npy.into_vec::<u32>().map_err(data_err)?),
        "u8" => {
            let v = npy.into_vec::<u64>().map_err(data_err)?;
            let mut out = Vec::with_capacity(v.len());
            for (i, x) in v.into_iter().enumerate() {
                out.push(i64::try_from(x).map_err(|_| {
                    parse_err(
                        path,
                        Some(format!("value {i}")),
                        format!("{x} does not fit in i64"),
                    )
                })?);
            }
            out
        }
        _ => {
            return Err(header(format!(
                "unsupported dtype '{descr}': expected an integer type ('<i8', '<i4', '|u1', ...)"
            )));
        }
    };
    let data = if fortran && shape.len() > 1 {
        fortran_to_c(&data, &shape)
    } else {
        data
    };
    Ok(NpyIntArray { shape, data })
}

/// Writes `data` (row-major) with `shape` as a little-endian f64 `.npy` file.
pub fn write_npy_f64(path: impl AsRef<Path>, data: &[f64], shape: &[usize]) -> Result<()> {
    write_npy(path.as_ref(), data, shape)
}

/// Writes `data` (row-major) with `shape` as a little-endian i64 `.npy` file.
pub fn write_npy_i64(path: impl AsRef<Path>, data: &[i64], shape: &[usize]) -> Result<()> {
    write_npy(path.as_ref(), data, shape)
}

/// Writes `data` (row-major) with `shape` as a little-endian f32 `.npy` file.
pub fn write_npy_f32(path: impl AsRef<Path>, data: &[f32], shape: &[usize]) -> Result<()> {
    write_npy(path.as_ref(), data, shape)
}

fn write_npy<T: npyz::AutoSerialize + Copy>(
    path: &Path,
    data: &[T],
    shape: &[usize],
) -> Result<()> {
    let expected: usize = shape.iter().product();
    if expected != data.len() {
        return Err(KilnError::shape(
            format!("writing {}", path.display()),
            format!("{expected} values for shape {shape:?}"),
            format!("{} values", data.len()),
        ));
    }
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let file = File::create(path).map_err(io_err(path))?;
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(BufWriter::new(file))
        .begin_nd()
        .map_err(io_err(path))?;
    writer.extend(data.iter().copied()).map_err(io_err(path))?;
    writer.finish().map_err(io_err(path))
}

/// Reads a one-column CSV of numbers.
///
/// Blank lines and lines starting with `#` are skipped; the first remaining line may be a
/// header (anything that does not parse as a number). NaN and infinities are rejected: a
/// stream with holes in it is an error, not a silent NaN downstream.
pub fn read_csv_column(path: impl AsRef<Path>) -> Result<Vec<f64>> {
    let path = path.as_ref();
    let mut text = String::new();
    File::open(path)
        .and_then(|f| BufReader::new(f).read_to_string(&mut text))
        .map_err(io_err(path))?;
    parse_csv_column(&text, path)
}

/// Parses one-column CSV text; `path` is only used in error messages.
pub fn parse_csv_column(text: &str, path: &Path) -> Result<Vec<f64>> {
    let mut values = Vec::new();
    let mut seen_content = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first_content = !seen_content;
        seen_content = true;
        if line.contains(',') {
            return Err(parse_err(
                path,
                Some(format!("line {line_no}")),
                format!(
                    "expected one column, found {} fields",
                    line.split(',').count()
                ),
            ));
        }
        let cell = line.trim_matches('"');
        match cell.parse::<f64>() {
            Ok(v) if v.is_finite() => values.push(v),
            Ok(_) => {
                return Err(parse_err(
                    path,
                    Some(format!("line {line_no}")),
                    format!("non-finite value `{cell}`"),
                ));
            }
            Err(_) if first_content => {} // header
            Err(_) => {
                return Err(parse_err(
                    path,
                    Some(format!("line {line_no}")),
                    format!("`{cell}` is not a number"),
                ));
            }
        }
    }
    if values.is_empty() {
        return Err(parse_err(path, None, "no numbers found"));
    }
    Ok(values)
}

/// Reads JSON into any `serde` type; errors carry the line and column.
pub fn read_json<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<T> {
    let path = path.as_ref();
    let mut text = String::new();
    File::open(path)
        .and_then(|f| BufReader::new(f).read_to_string(&mut text))
        .map_err(io_err(path))?;
    parse_json(&text, path)
}

/// Parses JSON text; `path` is only used in error messages.
pub fn parse_json<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        parse_err(
            path,
            Some(format!("line {} column {}", e.line(), e.column())),
            strip_position(&e.to_string()),
        )
    })
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// A placeholder path for errors about in-memory text.
pub fn input_path() -> PathBuf {
    PathBuf::from("<input>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fortran_order_is_transposed() {
        // 2x3 array [[0,1,2],[3,4,5]] stored column-major.
        let f = [0.0, 3.0, 1.0, 4.0, 2.0, 5.0];
        assert_eq!(
            fortran_to_c(&f, &[2, 3]),
            vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
    }

    #[test]
    fn csv_header_comments_and_errors() {
        let p = Path::new("s.csv");
        assert_eq!(
            parse_csv_column("# comment\nloss\n1.5\n\n2\n", p).unwrap(),
            vec![1.5, 2.0]
        );
        let e = parse_csv_column("1\n2\nx\n", p).unwrap_err().to_string();
        assert_eq!(e, "s.csv:line 3: `x` is not a number");
        let e = parse_csv_column("1\nnan\n", p).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        let e = parse_csv_column("1,2\n", p).unwrap_err().to_string();
        assert!(e.contains("one column"), "{e}");
        assert!(parse_csv_column("header\n", p).is_err());
    }

    #[test]
    fn json_errors_have_positions() {
        let e = parse_json::<Vec<f64>>("[1,\n2,,]", Path::new("c.json"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.json:line 2 column"), "{e}");
    }
}
