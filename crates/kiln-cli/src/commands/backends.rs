//! `kiln backends`: which backends this build has, and whether each starts.

use kiln_core::{Autodiff, BackendKind, Precision, convert, device};
use serde_json::json;

use crate::Globals;
use crate::output::{CmdResult, Output};

fn probe(kind: BackendKind) -> Result<(), String> {
    let dev = device(kind, Autodiff::On, Precision::F32).map_err(|e| e.to_string())?;
    let x = convert::tensor_f32(&[1.0, 2.0, 3.0], [3], &dev)
        .map_err(|e| e.to_string())?
        .require_grad();
    let g = x.grad(&(x.clone() * x.clone()).sum().backward());
    let g = g.ok_or("autodiff returned no gradient")?;
    let g = convert::to_vec_f32(&g).map_err(|e| e.to_string())?;
    if g == [2.0, 4.0, 6.0] {
        Ok(())
    } else {
        Err(format!(
            "d/dx sum(x^2) at [1,2,3] gave {g:?}, expected [2,4,6]"
        ))
    }
}

/// Runs the subcommand.
pub fn run(globals: &Globals) -> CmdResult {
    let selected = globals.requested_backend()?;
    let rows: Vec<_> = BackendKind::ALL
        .into_iter()
        .map(|kind| {
            let status = if kind.is_compiled() {
                match std::panic::catch_unwind(|| probe(kind)) {
                    Ok(Ok(())) => "ok".to_string(),
                    Ok(Err(e)) => format!("fails: {e}"),
                    Err(_) => "fails: panicked while starting".to_string(),
                }
            } else {
                format!("not compiled (feature `{}`)", kind.feature())
            };
            (kind, status)
        })
        .collect();
    let human = rows
        .iter()
        .map(|(k, s)| {
            format!(
                "{:<8} {}{}",
                k.name(),
                s,
                if *k == selected { "  (selected)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let json = json!({
        "selected": selected.name(),
        "backends": rows.iter().map(|(k, s)| json!({
            "name": k.name(),
            "compiled": k.is_compiled(),
            "status": s,
        })).collect::<Vec<_>>(),
    });
    Ok(Output::new(json, human))
}
