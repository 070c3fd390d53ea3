//! kiln's cross-crate integration tests live in `tests/tests/`: the CLI contract (`cli.rs`) and
//! backend parity (`backend_parity.rs`). They run the CLI in-process through
//! `kiln_cli::testing::{run_args, run_json, write_file}`, the one helper every CLI test uses;
//! reference values live with the area crate they check (`crates/kiln-*/tests/data/`).
